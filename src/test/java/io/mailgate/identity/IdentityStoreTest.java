package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** start-dev's automatic verification of a sender on first use ({@link IdentityStore#insertOrVerify}). */
class IdentityStoreTest {

  @Test
  void firstUseFromSeveralEventLoopsAtOnceVerifiesOnceAndFailsNone() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 4);
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
      IdentityStore store = new IdentityStore(pool);

      // four sends from a new address at the same moment: each inserts or finds the row, none fails
      List<Future<Void>> all = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        all.add(store.insertOrVerify(verified("new@example.com")));
      }
      await(Future.all(all));
      assertEquals(1, Db.count(url, "SELECT count(*) FROM identities WHERE identity = 'new@example.com' "
          + "AND verification_status = 'SUCCESS' AND verified_at IS NOT NULL"));

      // an identity created earlier and still pending is verified, not duplicated
      Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status, dkim_signing_enabled, "
          + "dkim_status) VALUES ('a1', 'pending@example.com', 'EMAIL_ADDRESS', 'PENDING', true, 'NOT_STARTED')");
      await(store.insertOrVerify(verified("pending@example.com")));
      assertEquals(1, Db.count(url, "SELECT count(*) FROM identities WHERE identity = 'pending@example.com' "
          + "AND verification_status = 'SUCCESS' AND verified_at IS NOT NULL"));
    } finally {
      vertx.close();
    }
  }

  private static Identity verified(String address) {
    return new Identity("a1", address, Identity.Type.EMAIL_ADDRESS, Identity.Status.SUCCESS, true,
        Identity.Status.NOT_STARTED, null, null, null, null, null, null, null, "USE_DEFAULT_VALUE", null, null, null,
        null);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /**
   * Accounts take turns for the DNS checks: one account's many domains, waiting longer, do not come before another
   * account's one (a round takes 50: an account with thousands of pending domains put every other account's newly
   * published record hours back).
   */
  @Test
  void dnsChecksTakeAccountsInTurn() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 2);
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('many', 'many', 1, 1), "
          + "('one', 'one', 1, 1)");
      Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status, dkim_signing_enabled, "
          + "dkim_status, dns_checked_at) SELECT 'many', 'd' || n || '.example', 'DOMAIN', 'PENDING', true, 'PENDING', "
          + "now() - interval '1 hour' - n * interval '1 second' FROM generate_series(1, 20) n");
      Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status, dkim_signing_enabled, "
          + "dkim_status, dns_checked_at) VALUES ('one', 'mine.example', 'DOMAIN', 'PENDING', true, 'PENDING', "
          + "now() - interval '10 minutes')");
      IdentityStore store = new IdentityStore(pool);
      List<IdentityStore.DnsCheck> due = await(store.dueForDnsCheck(5, 300));
      assertEquals(5, due.size());
      assertTrue(due.stream().anyMatch(c -> c.domain().equals("mine.example")), due.toString());
      assertTrue(due.stream().anyMatch(c -> c.domain().equals("d20.example")), "the longest waiting of the other's");
      assertEquals(16, await(store.dueForDnsCheck(50, 300)).size(), "the rest, each once");
    } finally {
      vertx.close();
    }
  }
}
