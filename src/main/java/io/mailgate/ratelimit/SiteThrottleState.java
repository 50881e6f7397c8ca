package io.mailgate.ratelimit;

/** A site's throttle state shared by all nodes: its rate factor, and until when it is paused (0: it is not). */
public record SiteThrottleState(double factor, long pausedUntil) {}
