package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What one account's S3 actions keep is bounded ({@code receiving.maxStoredBytesPerAccount}): mail to its receiving
 * domain comes from anyone, and one sender must not fill the database every send writes to. Once the account keeps as
 * much as it may, a recipient whose rules would store more is answered 452 4.2.2 (the sender tries again later), until
 * objects are deleted; recipients whose rules store nothing, and other accounts, are received as before. What an
 * account keeps is counted by triggers on every statement that writes its objects.
 */
class StoredMailLimitTest {
  private static final long LIMIT = 4_000;

  private static String message(String to, int n) {
    return "From: Sender <sender@outside.example>\r\nTo: " + to + "\r\nSubject: number " + n
        + "\r\nMessage-ID: <n" + n + "@outside.example>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n"
        + "x".repeat(500);
  }

  private static void receives(String pg, String accountId, String domain, String actions) {
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('" + accountId
        + "', '" + domain + "', 'DOMAIN', 'SUCCESS')");
    Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('" + accountId
        + "', 'main', true)");
    Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled) VALUES ('" + accountId + "', 'main', 'bounce', 0, true, 'Optional', '{bounce@"
        + domain + "}', '[{\"BounceAction\": {\"SmtpReplyCode\": \"550\", \"StatusCode\": \"5.1.1\", \"Message\": "
        + "\"Gone\", \"Sender\": \"postmaster@" + domain + "\"}}]', false), ('" + accountId
        + "', 'main', 'keep', 1, true, 'Optional', '{" + domain + "}', '" + actions + "', false)");
  }

  private static long usage(String pg, String accountId) {
    return Db.count(pg, "SELECT coalesce(sum(bytes), 0) FROM received_usage WHERE account_id = '" + accountId + "'");
  }

  private static long stored(String pg, String accountId) {
    return Db.count(pg, "SELECT coalesce(sum(octet_length(content)), 0) FROM received_objects WHERE account_id = '"
        + accountId + "'");
  }

  @Test
  void anAccountThatKeepsAsMuchAsItMayIsToldToTryLaterUntilObjectsAreDeleted() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.CACHE_TTL_MILLIS, 200)
             .with(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT, LIMIT))) {
      String pg = node.config().get(MailgateConfig.PG_URL);
      int inbound = node.config().get(MailgateConfig.SMTP_INBOUND_PORT);
      String account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
      // two copies of each message: the limit counts what is stored
      receives(pg, account, "full.example", "[{\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"a/\"}},"
          + " {\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"b/\"}}]");
      Accounts.NewKey other = node.createAccount("neighbour", true, 10, 1000);
      receives(pg, other.accountId(), "room.example", "[{\"S3Action\": {\"BucketName\": \"inbox\"}}]");

      List<String> replies = SmtpClient.sendUntil(inbound, "a@outside.example", List.of("desk@full.example"),
          message("desk@full.example", 0), r -> r.get(3).startsWith("250"));
      assertTrue(replies.get(5).startsWith("250"), replies.toString());
      int accepted = 1;
      String refused = null;
      for (int n = 1; n < 40 && refused == null; n++) {
        replies = SmtpClient.send(inbound, "a@outside.example", List.of("desk@full.example"),
            message("desk@full.example", n));
        if (replies.get(3).startsWith("452")) {
          refused = replies.get(3);
        } else {
          assertTrue(replies.get(5).startsWith("250"), replies.toString());
          accepted++;
          Thread.sleep(300); // past the usage's cache (the node's, 200 ms here): each message sees the ones before
        }
      }
      assertTrue(refused != null && refused.startsWith("452 4.2.2"), "refused once full: " + refused);
      long kept = stored(pg, account);
      assertEquals(kept, usage(pg, account), "counted as stored");
      assertTrue(kept >= LIMIT, kept + " bytes kept when refused");
      long perMessage = kept / (2L * accepted) * 2;
      assertTrue(kept - perMessage < LIMIT, kept + " bytes kept: the message that reached the limit is the last");
      assertEquals(2L * accepted, Db.count(pg, "SELECT count(*) FROM received_objects WHERE account_id = '" + account
          + "'"), "every accepted message kept twice");

      // a recipient whose rules store nothing is answered as they say; another account has room of its own
      replies = SmtpClient.send(inbound, "a@outside.example", List.of("bounce@full.example"),
          message("bounce@full.example", 100));
      assertTrue(replies.get(3).startsWith("550 5.1.1"), replies.toString());
      replies = SmtpClient.sendUntil(inbound, "a@outside.example", List.of("desk@room.example"),
          message("desk@room.example", 101), r -> r.get(3).startsWith("250"));
      assertTrue(replies.get(5).startsWith("250"), replies.toString());

      // rewritten and deleted objects are counted too (the S3 API's DELETE and the retention sweep delete)
      Db.execute(pg, "UPDATE received_objects SET content = content || '\\x0d0a'::bytea WHERE account_id = '" + account
          + "' AND object_key LIKE 'a/%'");
      assertEquals(stored(pg, account), usage(pg, account), "after an update");
      Db.execute(pg, "DELETE FROM received_objects WHERE account_id = '" + account + "' AND object_key LIKE 'a/%'");
      assertEquals(stored(pg, account), usage(pg, account), "after a delete");
      replies = SmtpClient.sendUntil(inbound, "a@outside.example", List.of("desk@full.example"),
          message("desk@full.example", 200), r -> r.get(3).startsWith("250"));
      assertTrue(replies.get(5).startsWith("250"), "room again: " + replies);
      assertEquals(stored(pg, account), usage(pg, account), "after receiving again");
      assertEquals(stored(pg, other.accountId()), usage(pg, other.accountId()), "the other account's");
    }
  }
}
