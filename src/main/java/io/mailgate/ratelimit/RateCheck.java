package io.mailgate.ratelimit;

/**
 * Asks whether an account may send now. {@code rateCost} recipients count against MaxSendRate,
 * {@code quotaCost} against Max24HourSend (mailbox simulator recipients count only for the rate).
 */
public record RateCheck(String accountId, double maxSendRate, int rateCost, long max24HourSend, int quotaCost) {}
