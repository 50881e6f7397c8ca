package io.mailgate.ratelimit;

/**
 * Asks the shared bucket of a destination site for up to {@code want} delivery tokens; the bucket
 * fills at {@code perSecond} and holds at most {@code burst}.
 */
public record SiteTokenRequest(String site, double perSecond, int burst, int want) {}
