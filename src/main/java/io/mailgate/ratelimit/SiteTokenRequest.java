package io.mailgate.ratelimit;

/**
 * Asks the shared bucket of a destination site for up to {@code want} delivery tokens. The bucket fills at the site's
 * configured {@code perSecond} times its shared throttle factor and holds at most {@code burst} times that factor; it
 * gives none while the site is paused. {@code creditMillis} of successes the caller saw since its last request recover
 * the factor by {@code recoveryPerSecond} a second of them.
 */
public record SiteTokenRequest(String site, double perSecond, int burst, int want, long creditMillis,
    double recoveryPerSecond) {}
