package io.mailgate.ratelimit;

/** The limiter's answer, with the account's rolling 24-hour count after the decision. */
public record RateDecision(Status status, long sentLast24Hours) {
  public enum Status { ALLOWED, RATE_EXCEEDED, QUOTA_EXCEEDED }
}
