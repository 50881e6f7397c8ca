package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
