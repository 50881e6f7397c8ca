package io.mailgate.identity;

/** A tenant: its limits and whether it may send. */
public record Account(String id, String name, double maxSendRate, long max24HourSend, boolean sendingEnabled,
    boolean productionAccess) {}
