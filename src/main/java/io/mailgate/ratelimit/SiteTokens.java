package io.mailgate.ratelimit;

/** Tokens granted from a site's shared bucket; when none, how long until one is there. */
public record SiteTokens(int granted, long waitMillis) {}
