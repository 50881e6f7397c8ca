package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.store.Database;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;

/** PutAccountSendingAttributes: an account's owner pauses and resumes its sending, but not out of a shutdown. */
class AccountSendingTest {

  static String send(SesV2Client ses) {
    return ses.sendEmail(r -> r.fromEmailAddress("owner@example.com").destination(d -> d.toAddresses("a@x.test"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))).messageId();
  }

  /** Whether a send is refused because the account's sending is paused. */
  static boolean refused(SesV2Client ses) {
    try {
      send(ses);
      return false;
    } catch (SendingPausedException e) {
      assertTrue(e.getMessage().contains("Sending is paused for this account"), e.getMessage());
      return true;
    }
  }

  @Test
  void theOwnerPausesAndResumesButCannotUndoAShutdown() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url())) {
      Accounts.NewKey key = node.createAccount("owner", true, 10, 1000);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        send(ses);
        ses.putAccountSendingAttributes(r -> r.sendingEnabled(false));
        assertFalse(ses.getAccount(r -> { }).sendingEnabled());
        // every API instance and node sees it within cache.ttlMillis (300 ms here)
        Await.until(() -> refused(ses), Duration.ofSeconds(5));
        ses.putAccountSendingAttributes(r -> r.sendingEnabled(true));
        assertTrue(ses.getAccount(r -> { }).sendingEnabled());
        Await.until(() -> !refused(ses), Duration.ofSeconds(5));

        // the same through SES v1's UpdateAccountSendingEnabled / GetAccountSendingEnabled
        try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
          v1.updateAccountSendingEnabled(r -> r.enabled(false));
          assertFalse(v1.getAccountSendingEnabled().enabled());
          Await.until(() -> refused(ses), Duration.ofSeconds(5));
          v1.updateAccountSendingEnabled(r -> r.enabled(true));
          assertTrue(v1.getAccountSendingEnabled().enabled());
          Await.until(() -> !refused(ses), Duration.ofSeconds(5));
        }

        // reputation enforcement shut it down: the owner cannot resume it (SES), and the refusal changes nothing
        Pool pool = Database.pool(node.vertx(), node.config(), 1);
        try {
          pool.preparedQuery("UPDATE accounts SET enforcement_status = 'SHUTDOWN', sending_enabled = false "
                  + "WHERE id = $1").execute(Tuple.of(key.accountId()))
              .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
          pool.close();
        }
        // SES documents only BadRequest and TooManyRequests for the operation: a BadRequest that says who can resume it
        BadRequestException refused = assertThrows(BadRequestException.class,
            () -> ses.putAccountSendingAttributes(r -> r.sendingEnabled(true)));
        String message = refused.awsErrorDetails().errorMessage();
        assertTrue(message.contains("shut down by Mailgate's reputation enforcement"), message);
        assertTrue(message.contains("Only an operator can: mailgate admin account set " + key.accountId()
            + " --sending true"), message);
        try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
          software.amazon.awssdk.services.ses.model.SesException v1Refused = assertThrows(
              software.amazon.awssdk.services.ses.model.SesException.class,
              () -> v1.updateAccountSendingEnabled(r -> r.enabled(true)));
          assertEquals("InvalidParameterValue", v1Refused.awsErrorDetails().errorCode());
        }
        assertFalse(ses.getAccount(r -> { }).sendingEnabled());
        assertEquals("SHUTDOWN", ses.getAccount(r -> { }).enforcementStatus());
        ses.putAccountSendingAttributes(r -> r.sendingEnabled(false)); // pausing it more is allowed
      }
    }
  }
}
