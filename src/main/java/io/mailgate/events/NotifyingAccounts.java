package io.mailgate.events;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.util.HashSet;
import java.util.Set;

/**
 * Which delivery outcomes look for their sender's identity notification topics, as one verticle instance knows it.
 * Bounces and complaints always do: they are rare, and one must not be lost to a topic set a moment ago elsewhere.
 * Deliveries, nearly every outcome, only for the accounts that have a Delivery topic, so that they cost nothing more
 * for the others: read again every {@code cache.ttlMillis} (a topic set through another node applies within that),
 * and an account whose topics changed through this node counts at once ({@link #changed}). Until the first read has
 * succeeded every account counts. One event loop uses an instance.
 */
public final class NotifyingAccounts {
  private final Pool pool;
  private Set<String> deliveryTopics;
  /** Accounts changed while a read was under way: it may have been too early to see their topics. */
  private final Set<String> changedDuringRead = new HashSet<>();
  private boolean reading;

  public NotifyingAccounts(Pool pool) {
    this.pool = pool;
  }

  /** Whether an outcome of this type, of this account, is to look for its sender's topics. */
  public boolean wants(String accountId, String eventType) {
    if (eventType.equals(EventType.BOUNCE.sesName) || eventType.equals(EventType.COMPLAINT.sesName)) {
      return true;
    }
    return eventType.equals(EventType.DELIVERY.sesName)
        && (deliveryTopics == null || deliveryTopics.contains(accountId));
  }

  /** The account's topics changed: it may have a Delivery topic now (the next read says whether it still has). */
  public void changed(String accountId) {
    if (deliveryTopics != null) {
      deliveryTopics.add(accountId);
    }
    if (reading) {
      changedDuringRead.add(accountId);
    }
  }

  /** Reads the accounts again; one read at a time. */
  public Future<Void> read() {
    if (reading) {
      return Future.succeededFuture();
    }
    reading = true;
    changedDuringRead.clear();
    return pool.preparedQuery("SELECT DISTINCT account_id FROM event_destinations WHERE identity IS NOT NULL "
            + "AND name = 'Delivery'")
        .execute()
        .<Void>map(rows -> {
          Set<String> read = new HashSet<>(changedDuringRead);
          for (Row r : rows) {
            read.add(r.getString(0));
          }
          deliveryTopics = read;
          return null;
        })
        .onComplete(ar -> reading = false);
  }
}
