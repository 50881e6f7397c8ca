package io.mailgate.identity;

/**
 * A tenant: its limits and whether it may send. {@code engagementTracking}: its VDM is on with the dashboard's
 * engagement metrics (PutAccountVdmAttributes), so its messages get open and click trackers unless their configuration
 * set says otherwise.
 */
public record Account(String id, String name, double maxSendRate, long max24HourSend, boolean sendingEnabled,
    boolean productionAccess, boolean engagementTracking) {

  /** An account without VDM's engagement tracking. */
  public Account(String id, String name, double maxSendRate, long max24HourSend, boolean sendingEnabled,
      boolean productionAccess) {
    this(id, name, maxSendRate, max24HourSend, sendingEnabled, productionAccess, false);
  }
}
