package io.mailgate.events;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.util.HashSet;
import java.util.Set;

/**
 * The accounts that have identity notification topics, as one verticle instance knows them: the outcome of a message
 * of another account does not look for its sender's topics, so delivery outcomes cost nothing more while an account
 * has none. Read again every {@code cache.ttlMillis} (a topic set through another node applies within that); an account
 * whose topics changed through this node counts at once ({@link #changed}). One event loop uses an instance.
 */
public final class NotifyingAccounts {
  private final Pool pool;
  private Set<String> accounts = new HashSet<>();
  /** Accounts changed while a read was under way: it may have been too early to see their topics. */
  private final Set<String> changedDuringRead = new HashSet<>();
  private boolean reading;

  public NotifyingAccounts(Pool pool) {
    this.pool = pool;
  }

  public boolean has(String accountId) {
    return accounts.contains(accountId);
  }

  /** The account's topics changed: it may have some now (the next read says whether it still has). */
  public void changed(String accountId) {
    accounts.add(accountId);
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
    return pool.preparedQuery("SELECT DISTINCT account_id FROM event_destinations WHERE identity IS NOT NULL")
        .execute()
        .<Void>map(rows -> {
          Set<String> read = new HashSet<>(changedDuringRead);
          for (Row r : rows) {
            read.add(r.getString(0));
          }
          accounts = read;
          return null;
        })
        .onComplete(ar -> reading = false);
  }
}
