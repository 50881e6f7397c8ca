package io.mailgate.ratelimit;

/**
 * Tokens granted from a site's shared bucket; when none, how long until one is there. With them, the site's throttle
 * state shared by all nodes: its rate factor, and until when it is paused (0: it is not).
 */
public record SiteTokens(int granted, long waitMillis, double factor, long pausedUntil) {}
