package io.mailgate.ratelimit;

/**
 * A destination site asked a node to slow down: its throttle state shared by all nodes is paused for {@code
 * pauseMillis} (the later end wins) and its factor multiplied by {@code factor}, no lower than {@code leastFactor};
 * {@code recoveryPerSecond} says how long the state is kept ({@link SiteTokenRequest}). Answered with the state after
 * it, a {@link SiteThrottleState}.
 */
public record SiteThrottleRequest(String site, long pauseMillis, double factor, double leastFactor,
    double recoveryPerSecond) {}
