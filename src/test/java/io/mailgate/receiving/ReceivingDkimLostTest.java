package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityStore;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Receiving stops for a verified domain whose DKIM record, once found, went missing for good (its owner may have
 * changed), not for one whose record was never found: a domain verified by its _amazonses token (SES v1's
 * VerifyDomainIdentity, the usual receiving setup) stopped receiving 72 hours after it was made.
 */
class ReceivingDkimLostTest {
  @Test
  void onlyADkimRecordOnceFoundAndGoneStopsReceiving() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 2);
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
      Db.execute(url, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('a1', 'rules', true)");
      Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status, dkim_signing_enabled, "
          + "dkim_status, dkim_selector, dkim_public_key) VALUES ('a1', 'token.example', 'DOMAIN', 'SUCCESS', true, "
          + "'PENDING', 's1', 'KEY'), ('a1', 'lost.example', 'DOMAIN', 'SUCCESS', true, 'SUCCESS', 's1', 'KEY')");
      // the account verified an address of that domain too: that receives nothing by itself
      Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('a1', "
          + "'ceo@lost.example', 'EMAIL_ADDRESS', 'SUCCESS')");
      IdentityStore store = new IdentityStore(pool);

      record(store, "token.example", Identity.Status.FAILED); // never found, past the window
      assertEquals("FAILED", Db.string(url, "SELECT dkim_status FROM identities WHERE identity = 'token.example'"));
      assertEquals(1, receivers(pool, "token.example"));

      record(store, "lost.example", Identity.Status.TEMPORARY_FAILURE);
      assertEquals(1, receivers(pool, "lost.example"), "not yet for good");
      record(store, "lost.example", Identity.Status.FAILED);
      assertEquals(0, receivers(pool, "lost.example"));
      assertEquals(0, receivers(pool, "ceo", "lost.example"), "the account's own address at a domain it lost");
      Db.execute(url, "UPDATE identities SET dkim_status = 'PENDING' WHERE identity = 'lost.example'");
      record(store, "lost.example", Identity.Status.SUCCESS);
      assertEquals(1, receivers(pool, "lost.example"), "found again");
      assertEquals(1, receivers(pool, "ceo", "lost.example"));
    } finally {
      vertx.close();
    }
  }

  /** How many accounts receive mail for an address at {@code domain}, as the inbound server asks. */
  private static int receivers(Pool pool, String domain) throws Exception {
    return receivers(pool, "x", domain);
  }

  private static int receivers(Pool pool, String local, String domain) throws Exception {
    return await(new ReceivingDirectory(pool, java.time.Clock.systemUTC(), 0).receivers(local + "@" + domain)).size();
  }

  /**
   * The inbound server asks, for every recipient domain it does not know, whether it is a verified MAIL FROM domain:
   * an index answers that, not a scan of every account's identities (a client may name a new domain in each RCPT).
   */
  @Test
  void aMailFromDomainIsFoundByAnIndex() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      TestServices.migratedPool(vertx, url, 1);
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
      Db.execute(url, "INSERT INTO identities (account_id, identity, type, verification_status, mail_from_domain, "
          + "mail_from_status) SELECT 'a1', 'd' || g || '.example', 'DOMAIN', 'SUCCESS', 'm.d' || g || '.example', "
          + "'SUCCESS' FROM generate_series(1, 2000) g");
      Db.execute(url, "ANALYZE identities");
      String plan = Db.string(url, "EXPLAIN (FORMAT JSON) " + io.mailgate.smtp.InboundSmtpVerticle.MAIL_FROM_DOMAIN
          .replace("$1", "'m.d7.example'")
          .replace("$2", "ARRAY['m.d7.example', 'd7.example']"));
      org.junit.jupiter.api.Assertions.assertTrue(plan.contains("identities_by_mail_from_domain"), plan);
    } finally {
      vertx.close();
    }
  }

  /** One DNS check of {@code domain}, taken as the checker takes it, that found its DKIM record {@code dkim}. */
  private static void record(IdentityStore store, String domain, Identity.Status dkim) throws Exception {
    IdentityStore.DnsCheck c = await(store.dueForDnsCheck(10, 0)).stream().filter(d -> d.domain().equals(domain))
        .findFirst().orElseThrow();
    // the domain's verification left as it is: its DKIM record alone stops receiving
    await(store.recordDnsCheck(c, dkim, null, c.verificationStatus(), c.verificationFailsAt(), false));
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
