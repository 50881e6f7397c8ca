package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntry;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult;
import software.amazon.awssdk.services.sesv2.model.BulkEmailStatus;
import software.amazon.awssdk.services.sesv2.model.ReplacementEmailContent;
import software.amazon.awssdk.services.sesv2.model.TooManyRequestsException;

/**
 * A templated send is checked against the account's sending limits before its template is rendered: a send the limits
 * refuse takes nothing of the node's rendering threads (whose work {@code mailgate_template_renderings_total} counts),
 * through SES v2 SendEmail and SendBulkEmail and SES v1 SendTemplatedEmail and SendBulkTemplatedEmail. What was
 * counted before the rendering is given back when the send is not accepted after all, and a Rendering Failure's
 * 24-hour quota too.
 */
class TemplatedSendLimitsTest {
  static final String RENDERINGS = "mailgate_template_renderings_total";
  static RecordingSmtpServer relay;
  static TestNode node;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  /** A production account of this 24-hour quota, with a template "hello" that needs {@code name}. */
  private static Accounts.NewKey account(String name, long quota) {
    Accounts.NewKey key = node.createAccount(name, true, 100, quota);
    try (SesV2Client ses = v2(key)) {
      ses.createEmailTemplate(r -> r.templateName("hello").templateContent(c -> c.subject("Hi {{name}}")
          .text("Hello {{name}}")));
    }
    return key;
  }

  private static SesV2Client v2(Accounts.NewKey key) {
    return node.sesV2(key.accessKeyId(), key.secretAccessKey());
  }

  private static SesClient v1(Accounts.NewKey key) {
    return node.sesV1(key.accessKeyId(), key.secretAccessKey());
  }

  @Test
  void aSendOverTheQuotaIsRefusedWithoutBeingRendered() {
    Accounts.NewKey key = account("render-over-quota", 2);
    try (SesV2Client ses = v2(key); SesClient v1 = v1(key)) {
      sendSimple(ses, "q0@example.org", "q1@example.org"); // the whole quota
      long before = node.metric(RENDERINGS);

      TooManyRequestsException e = assertThrows(TooManyRequestsException.class,
          () -> sendTemplated(ses, "q2@example.org", "{\"name\":\"Ann\"}"));
      assertEquals("Daily message quota exceeded.", e.awsErrorDetails().errorMessage());
      assertEquals(before, node.metric(RENDERINGS), "SendEmail refused before its template was rendered");

      var v1Refusal = assertThrows(software.amazon.awssdk.services.ses.model.SesException.class,
          () -> v1.sendTemplatedEmail(r -> r.source("app@example.com").destination(d -> d.toAddresses("q3@example.org"))
              .template("hello").templateData("{\"name\":\"Bo\"}")));
      assertEquals("Throttling", v1Refusal.awsErrorDetails().errorCode()); // v1's Throttling, a 400
      assertEquals("Daily message quota exceeded.", v1Refusal.awsErrorDetails().errorMessage());
      assertEquals(before, node.metric(RENDERINGS), "SendTemplatedEmail refused before its template was rendered");

      List<BulkEmailEntryResult> bulk = sendBulk(ses, "qb", 3);
      for (BulkEmailEntryResult r : bulk) {
        assertEquals(BulkEmailStatus.ACCOUNT_DAILY_QUOTA_EXCEEDED, r.status(), r.error());
      }
      var v1Bulk = v1.sendBulkTemplatedEmail(r -> r.source("app@example.com").template("hello")
          .defaultTemplateData("{\"name\":\"C\"}")
          .destinations(d -> d.destination(x -> x.toAddresses("qv1@example.org")))).status();
      assertEquals(software.amazon.awssdk.services.ses.model.BulkEmailStatus.ACCOUNT_DAILY_QUOTA_EXCEEDED,
          v1Bulk.get(0).status());
      assertEquals(before, node.metric(RENDERINGS), "bulk entries refused before the template was rendered");
    }
  }

  /** Each bulk entry is counted as its own send, as before; only the entries the limits let go are rendered. */
  @Test
  void aBulkSendRendersOnlyTheEntriesTheLimitsLetGo() {
    Accounts.NewKey key = account("render-bulk-part", 3);
    try (SesV2Client ses = v2(key)) {
      long before = node.metric(RENDERINGS);
      List<BulkEmailEntryResult> results = sendBulk(ses, "part", 5);
      long sent = results.stream().filter(r -> r.status() == BulkEmailStatus.SUCCESS).count();
      long refused = results.stream().filter(r -> r.status() == BulkEmailStatus.ACCOUNT_DAILY_QUOTA_EXCEEDED).count();
      assertEquals(3, sent, results.toString());
      assertEquals(2, refused, results.toString());
      assertEquals(before + 3, node.metric(RENDERINGS), "the three entries sent, no more");
    }
  }

  /** A paused account's templated sends are refused before rendering too, bulk entries included. */
  @Test
  void aPausedAccountsBulkSendIsNotRendered() {
    Accounts.NewKey key = account("render-paused", 100);
    try (SesV2Client ses = v2(key)) {
      ses.putAccountSendingAttributes(r -> r.sendingEnabled(false));
      io.mailgate.testing.Await.until(() -> {
        try {
          sendSimple(ses, "p@example.org");
          return false;
        } catch (software.amazon.awssdk.services.sesv2.model.SendingPausedException e) {
          return true;
        }
      }, java.time.Duration.ofSeconds(5));
      long before = node.metric(RENDERINGS);
      for (BulkEmailEntryResult r : sendBulk(ses, "paused", 2)) {
        assertEquals(BulkEmailStatus.ACCOUNT_SENDING_PAUSED, r.status(), r.error());
      }
      assertEquals(before, node.metric(RENDERINGS));
    }
  }

  /**
   * Counted before it is rendered, a send is given its count back when it is refused after all (its data not JSON,
   * its template not compiling), and a Rendering Failure its 24-hour quota (it is no sent mail).
   */
  @Test
  void whatIsNotSentAfterAllGivesItsQuotaBack() {
    Accounts.NewKey key = account("render-refund", 1);
    try (SesV2Client ses = v2(key)) {
      assertThrows(BadRequestException.class, () -> sendTemplated(ses, "r0@example.org", "[1]"));
      // a bulk send whose template does not compile fails as a whole: each entry's count goes back
      assertThrows(BadRequestException.class, () -> ses.sendBulkEmail(r -> r.fromEmailAddress("app@example.com")
          .defaultContent(c -> c.template(t -> t.templateContent(x -> x.subject("{{#if}}").text("t"))
              .templateData("{}")))
          .bulkEmailEntries(entry("r1@example.org"))));
      // accepted as a Rendering Failure: counted for the rate, not for the quota
      String failed = sendTemplated(ses, "r2@example.org", "{}");
      assertEquals("RENDERING_FAILED", node.message(failed, key.accessKeyId(), key.secretAccessKey())
          .getJsonArray("Recipients").getJsonObject(0).getString("Status"));
      assertEquals(0.0, ses.getAccount(r -> { }).sendQuota().sentLast24Hours());
      sendTemplated(ses, "r3@example.org", "{\"name\":\"Di\"}"); // the quota of 1, still whole
      assertThrows(TooManyRequestsException.class, () -> sendSimple(ses, "r4@example.org"));
    }
  }

  private static String sendTemplated(SesV2Client ses, String to, String data) {
    return ses.sendEmail(r -> r.fromEmailAddress("app@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.template(t -> t.templateName("hello").templateData(data)))).messageId();
  }

  private static void sendSimple(SesV2Client ses, String... to) {
    ses.sendEmail(r -> r.fromEmailAddress("app@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b"))))));
  }

  private static BulkEmailEntry entry(String to) {
    return BulkEmailEntry.builder().destination(d -> d.toAddresses(to))
        .replacementEmailContent(ReplacementEmailContent.builder()
            .replacementTemplate(t -> t.replacementTemplateData("{\"name\":\"" + to + "\"}")).build())
        .build();
  }

  private static List<BulkEmailEntryResult> sendBulk(SesV2Client ses, String prefix, int n) {
    List<BulkEmailEntry> entries = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      entries.add(entry(prefix + i + "@example.org"));
    }
    return ses.sendBulkEmail(r -> r.fromEmailAddress("app@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("hello").templateData("{}")))
        .bulkEmailEntries(entries)).bulkEmailEntryResults();
  }
}
