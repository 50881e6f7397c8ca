package io.mailgate.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When a node counts its backlogs: every 5 s while it is scraped, never where no one reads the gauges. */
class MetricsTest {
  @Test
  void backlogsAreCountedEveryFiveSecondsWhileTheNodeIsScraped() {
    Metrics m = new Metrics();
    long t = 1_800_000_000_000L;
    assertFalse(m.queueCountDue(t), "never scraped: nothing reads the counts");
    m.scraped(t);
    assertTrue(m.queueCountDue(t));
    assertFalse(m.queueCountDue(t), "one caller per period, however many event loops ask");
    assertFalse(m.queueCountDue(t + Metrics.BACKLOG_COUNT_SPACING_MILLIS - 1));
    assertTrue(m.queueCountDue(t + Metrics.BACKLOG_COUNT_MILLIS - 1), "between scrapes too, a timer's tick early");
    long last = t + Metrics.SCRAPED_WITHIN_MILLIS;
    assertTrue(m.queueCountDue(last), "up to ten minutes after the last scrape");
    assertFalse(m.queueCountDue(last + Metrics.BACKLOG_COUNT_MILLIS), "then no more until the next");
    m.scraped(last + Metrics.BACKLOG_COUNT_MILLIS + 1);
    assertTrue(m.queueCountDue(last + Metrics.BACKLOG_COUNT_MILLIS + 1));
  }

  /** A count that failed leaves the gauges out until one succeeds, rather than repeating the last as true. */
  @Test
  void aFailedCountLeavesTheBacklogGaugesOut() {
    Metrics m = new Metrics();
    Metrics.Gauges g = new Metrics.Gauges(0, 0, 0, 0, 0);
    assertFalse(m.render(g).contains("mailgate_queue_recipients"), "not counted yet");
    assertTrue(m.backlogs(null), "a node whose first count fails says so");
    assertFalse(m.backlogs(new io.mailgate.store.Backlogs.Counts(12, 3, 4)), "a count is not a failure");
    String counted = m.render(g);
    assertTrue(counted.contains("\nmailgate_queue_recipients 12\n"), counted);
    assertTrue(counted.contains("\nmailgate_event_outbox_pending 3\n"), counted);
    assertTrue(counted.contains("\nmailgate_receipt_outbox_pending 4\n"), counted);
    assertTrue(m.backlogs(null), "the first failure after a count: the caller warns once");
    String failed = m.render(g);
    assertFalse(failed.contains("mailgate_queue_recipients"), failed);
    assertFalse(failed.contains("outbox_pending"), failed);
    assertFalse(m.backlogs(null), "a second failure in a row: no second warning");
  }
}
