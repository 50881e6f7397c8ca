package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The access key cache of the send path. */
class AccountDirectoryTest {

  /**
   * Anyone can sign a request with a made-up key id. More of them than the cache holds must not push the real keys out
   * of it, or every made-up id would cost the real senders a database round trip too.
   */
  @Test
  void madeUpKeyIdsDoNotEvictRealKeys() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 4);
      SecretBox secrets = SecretBox.fromBase64(TestNode.MASTER_KEY);
      Accounts.NewKey key = await(new Accounts(pool, secrets).create("a", 10, 1000, true));
      AccountDirectory directory = new AccountDirectory(pool, Clock.systemUTC(), secrets,
          new AccountDirectory.SandboxLimits(1, 200), 600_000);
      Context context = vertx.getOrCreateContext(); // the directory belongs to one event loop, as in a verticle

      assertTrue(await(on(context, () -> directory.byAccessKey(key.accessKeyId()))).orElseThrow().enabled());
      // disabled behind the cache's back: a lookup that reaches the database from now on sees it
      Db.execute(url, "UPDATE access_keys SET enabled = false");

      for (int batch = 0; batch <= AccountDirectory.MAX_CACHED / 1000; batch++) {
        int first = batch * 1000;
        await(on(context, () -> {
          List<Future<Optional<AccessKey>>> lookups = new ArrayList<>();
          for (int i = first; i < first + 1000; i++) {
            lookups.add(directory.byAccessKey(String.format("AKIAJUNK%012d", i)));
          }
          return Future.all(lookups).map(all -> {
            for (Future<Optional<AccessKey>> f : lookups) {
              assertTrue(f.result().isEmpty());
            }
            return null;
          });
        }));
      }
      assertTrue(await(on(context, () -> directory.byAccessKey(key.accessKeyId()))).orElseThrow().enabled(),
          "still served from the cache");
      assertEquals(1, Db.count(url, "SELECT count(*) FROM access_keys WHERE NOT enabled"));
    } finally {
      vertx.close();
    }
  }

  /**
   * A sandbox account sends at the sandbox's limits or its own where an operator set them lower (a suspicious account
   * held below 200 a day); its own higher ones wait for it to leave the sandbox, and -1 (no daily limit) is not more
   * than the sandbox's.
   */
  @Test
  void aSandboxAccountHasTheLowerOfItsOwnAndTheSandboxsLimits() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 4);
      SecretBox secrets = SecretBox.fromBase64(TestNode.MASTER_KEY);
      Accounts accounts = new Accounts(pool, secrets);
      Accounts.NewKey held = await(accounts.create("held", 0.5, 20, false));
      Accounts.NewKey roomy = await(accounts.create("roomy", 14, -1, false));
      Accounts.NewKey out = await(accounts.create("out", 14, -1, true));
      AccountDirectory directory = new AccountDirectory(pool, Clock.systemUTC(), secrets,
          new AccountDirectory.SandboxLimits(1, 200), 600_000);
      Context context = vertx.getOrCreateContext();

      Account a = await(on(context, () -> directory.byAccessKey(held.accessKeyId()))).orElseThrow().account();
      assertEquals(0.5, a.maxSendRate());
      assertEquals(20, a.max24HourSend());
      Account b = await(on(context, () -> directory.byAccessKey(roomy.accessKeyId()))).orElseThrow().account();
      assertEquals(1.0, b.maxSendRate());
      assertEquals(200, b.max24HourSend());
      Account c = await(on(context, () -> directory.byAccessKey(out.accessKeyId()))).orElseThrow().account();
      assertEquals(14.0, c.maxSendRate());
      assertEquals(-1, c.max24HourSend());
    } finally {
      vertx.close();
    }
  }

  private static <T> Future<T> on(Context context, Supplier<Future<T>> work) {
    Promise<T> p = Promise.promise();
    context.runOnContext(v -> work.get().onComplete(p));
    return p.future();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
