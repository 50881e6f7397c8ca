package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The policy store on PostgreSQL: the 20-policy limit holds under concurrent writes, policies go with identities, and
 * one call reads an identity's policies once.
 */
class IdentityPolicyStoreTest {

  @Test
  void concurrentCreatesCannotPassTheLimitAndDeletingTheIdentityDeletesItsPolicies() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = withIdentity(vertx, url, 8);
      IdentityPolicyStore store = new IdentityPolicyStore(pool);
      for (int i = 0; i < IdentityPolicy.MAX_PER_IDENTITY - 1; i++) {
        await(store.write("111111111111", "example.com", "p" + i, "{}", IdentityPolicyStore.Write.CREATE, () -> { }));
      }

      // eight new names at once for the one place left, on eight open connections: one takes it, the others are
      // refused. Without the lock on the identity some of them count 19 before any commits: this fails most runs then
      // (a race, so not every one)
      List<Future<?>> warm = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        warm.add(pool.query("SELECT pg_sleep(0.1)").execute());
      }
      await(Future.all(warm));
      List<Future<Void>> writes = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        writes.add(store.write("111111111111", "example.com", "new" + i, "{}", IdentityPolicyStore.Write.PUT,
            () -> { }));
      }
      await(Future.join(writes).otherwiseEmpty());
      long refused = writes.stream().filter(f -> f.cause() instanceof SesException e
          && e.error() == SesError.LIMIT_EXCEEDED).count();
      assertEquals(7, refused);
      assertEquals(20, Db.count(url, "SELECT count(*) FROM identity_policies"));

      // a check that throws leaves nothing behind
      Throwable invalid = awaitFailure(store.write("111111111111", "example.com", "p0", "bad",
          IdentityPolicyStore.Write.PUT, () -> {
            throw new SesException(SesError.INVALID_POLICY, "no");
          }));
      assertTrue(invalid instanceof SesException e && e.error() == SesError.INVALID_POLICY);
      assertEquals("{}", Db.string(url, "SELECT policy FROM identity_policies WHERE name = 'p0'"));

      Db.execute(url, "DELETE FROM identities WHERE identity = 'example.com'");
      assertEquals(0, Db.count(url, "SELECT count(*) FROM identity_policies"));
      Throwable gone = awaitFailure(store.write("111111111111", "example.com", "p0", "{}",
          IdentityPolicyStore.Write.PUT, () -> { }));
      assertTrue(gone instanceof SesException e && e.error() == SesError.NOT_FOUND);
    } finally {
      vertx.close();
    }
  }

  /** A bulk send's entries share one read of an identity's policies; the next call reads them again. */
  @Test
  void oneCallReadsAnIdentitysPoliciesOnce() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = withIdentity(vertx, url, 2);
      IdentityPolicies policies = new IdentityPolicies(new IdentityPolicyStore(pool), "us-east-1", Clock.systemUTC());
      IdentityArn arn = new IdentityArn("111111111111", "example.com");
      await(policies.write("111111111111", "example.com", "all", "{\"Statement\":{\"Effect\":\"Allow\","
          + "\"Principal\":\"*\",\"Action\":\"ses:*\",\"Resource\":\"" + arn.format("us-east-1") + "\"}}",
          IdentityPolicyStore.Write.PUT));
      Function<Instant, List<IdentityPolicy.Request>> send = now -> List.of(new IdentityPolicy.Request("222222222222",
          "ses:SendBulkEmail", "news@example.com", null, "news@example.com", List.of("a@x.test"), now));
      IdentityPolicies.Reads call = new IdentityPolicies.Reads();
      assertTrue(await(policies.allows(arn, call, send)));
      await(policies.delete("111111111111", "example.com", "all"));
      assertTrue(await(policies.allows(arn, call, send)), "the same call's read");
      assertFalse(await(policies.allows(arn, new IdentityPolicies.Reads(), send)), "the next call reads again");
    } finally {
      vertx.close();
    }
  }

  /** A pool of {@code size} on the database {@code url}, which gets account 111111111111 and its example.com. */
  private static Pool withIdentity(Vertx vertx, String url, int size) {
    Pool pool = TestServices.migratedPool(vertx, url, size);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('111111111111', 'a', 1, 1)");
    Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status, dkim_signing_enabled, "
        + "dkim_status) VALUES ('111111111111', 'example.com', 'DOMAIN', 'SUCCESS', true, 'NOT_STARTED')");
    return pool;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Throwable awaitFailure(Future<?> f) throws Exception {
    return await(f.map(v -> (Throwable) null).otherwise(e -> e));
  }
}
