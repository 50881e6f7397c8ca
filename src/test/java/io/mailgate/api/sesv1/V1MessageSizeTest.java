package io.mailgate.api.sesv1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.ses.model.SesException;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EventType;

/**
 * SES v1 takes 10 MB a message, v2 and SMTP 40 MB ({@code send.maxMessageBytes}): a v1 send is held to 10 MB as its
 * message is built, rendered and has its links tracked, not only as SendRawEmail gives it, and refused over it as v1
 * SendRawEmail is (InvalidParameterValue), nothing stored and nothing counted.
 */
class V1MessageSizeTest {
  static final int LIMIT = QueryApi.V1_MAX_MESSAGE_BYTES;

  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;
  static TestNode node;
  static SesClient v1;
  static SesV2Client v2;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    webhook = new WebhookReceiver();
    node = TestNode.start(relay.url());
    v1 = node.sesV1();
    v2 = node.sesV2();
    // its rendered text is 10.2 million characters on one line: under 10 MB, and its message (quoted-printable, a soft
    // line break every 76) over
    v1.createTemplate(r -> r.template(t -> t.templateName("v1-large").subjectPart("large")
        .textPart("{{{a}}}".repeat(51))));
  }

  static final String LARGE_DATA = "{\"a\":\"" + "a".repeat(200_000) + "\"}";

  @AfterAll
  static void stop() throws IOException {
    v1.close();
    v2.close();
    node.close();
    webhook.close();
    relay.close();
  }

  /** HTML of {@code bytes} ASCII bytes in short CRLF lines: built as 7bit, so its message is it and the headers. */
  static String html(int bytes) {
    StringBuilder s = new StringBuilder(bytes);
    String line = "<p>The quick brown fox jumps over the lazy dog.</p>\r\n";
    while (s.length() + line.length() <= bytes) {
      s.append(line);
    }
    s.append("x".repeat(bytes - s.length()));
    return s.toString();
  }

  static String sendV1(String html, String set) {
    return v1.sendEmail(r -> r.source("big@example.com").destination(d -> d.toAddresses("big@example.org"))
        .configurationSetName(set)
        .message(m -> m.subject(s -> s.data("large")).body(b -> b.html(h -> h.data(html))))).messageId();
  }

  static long stored() {
    return Db.count(node.config().get(MailgateConfig.PG_URL), "SELECT count(*) FROM messages");
  }

  static double sentLast24Hours() {
    return v1.getSendQuota().sentLast24Hours();
  }

  /** {@code send} refused as v1 SendRawEmail refuses a message over 10 MB, nothing stored and nothing counted. */
  static void refusedOverTenMegabytes(Executable send) {
    long before = stored();
    double sent = sentLast24Hours();
    SesException e = assertThrows(SesException.class, send);
    assertEquals(400, e.statusCode());
    assertEquals("InvalidParameterValue", e.awsErrorDetails().errorCode());
    assertTrue(e.awsErrorDetails().errorMessage().startsWith("Message length is more than " + LIMIT + " bytes long: "),
        e.getMessage());
    assertEquals(before, stored());
    // a refund (a templated send's, counted before it was rendered) is given back as the send is answered
    Await.until(() -> sentLast24Hours(), n -> n == sent, Duration.ofSeconds(5));
  }

  @Test
  void aV1SendEmailWhoseMessageIsOverTenMegabytesIsRefused() {
    String html = html(LIMIT - 10); // with its headers, just over (and under before it is built)
    refusedOverTenMegabytes(() -> sendV1(html, null));
  }

  @Test
  void aV1SendEmailJustUnderTenMegabytesIsAccepted() {
    String html = html(LIMIT - 4096); // its headers are well under 4 KB
    double sent = sentLast24Hours();
    assertNotNull(sendV1(html, null));
    assertEquals(sent + 1, sentLast24Hours());
  }

  /** v2 takes 40 MB a message: the same message as {@link #aV1SendEmailWhoseMessageIsOverTenMegabytesIsRefused}'s. */
  @Test
  void aV2SendEmailOverTenMegabytesIsAccepted() {
    String html = html(LIMIT);
    assertNotNull(v2.sendEmail(r -> r.fromEmailAddress("big@example.com")
        .destination(d -> d.toAddresses("big@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("large")).body(b -> b.html(h -> h.data(html))))))
        .messageId());
  }

  /** The template and its data are small, the message rendered from them is not. */
  @Test
  void aV1SendTemplatedEmailWhoseRenderedMessageIsOverTenMegabytesIsRefused() {
    refusedOverTenMegabytes(() -> v1.sendTemplatedEmail(r -> r.source("big@example.com")
        .destination(d -> d.toAddresses("big@example.org")).template("v1-large").templateData(LARGE_DATA)));
  }

  /** Sent in its From identity's default configuration set (the request taken on with that set), still held to it. */
  @Test
  void aV1SendTemplatedEmailInItsIdentitysDefaultSetWhoseRenderedMessageIsOverTenMegabytesIsRefused() {
    v2.createConfigurationSet(r -> r.configurationSetName("v1-default"));
    v2.createEmailIdentity(r -> r.emailIdentity("defaultset.example").configurationSetName("v1-default"));
    refusedOverTenMegabytes(() -> v1.sendTemplatedEmail(r -> r.source("big@defaultset.example")
        .destination(d -> d.toAddresses("big@example.org")).template("v1-large").templateData(LARGE_DATA)));
  }

  /** A bulk send's entry is held to 10 MB too: its own InvalidParameterValue, the small entry beside it sent. */
  @Test
  void aV1SendBulkTemplatedEmailEntryWhoseRenderedMessageIsOverTenMegabytesIsRefused() {
    long before = stored();
    double sent = sentLast24Hours();
    var statuses = v1.sendBulkTemplatedEmail(r -> r.source("big@example.com").template("v1-large")
        .defaultTemplateData(LARGE_DATA)
        .destinations(d -> d.destination(x -> x.toAddresses("big@example.org")),
            d -> d.destination(x -> x.toAddresses("small@example.org")).replacementTemplateData("{\"a\":\"b\"}")))
        .status();
    assertEquals("InvalidParameterValue", statuses.get(0).statusAsString());
    assertTrue(statuses.get(0).error().startsWith("Message length is more than " + LIMIT + " bytes long: "),
        statuses.get(0).error());
    assertEquals("Success", statuses.get(1).statusAsString());
    assertEquals(before + 1, stored());
    Await.until(() -> sentLast24Hours(), n -> n == sent + 1, Duration.ofSeconds(5));
  }

  /**
   * A message under 10 MB as built, over once its 500 links are tracked (each link's token carries the link, base64).
   */
  @Test
  void aV1SendEmailOverTenMegabytesOnceItsLinksAreTrackedIsRefused() {
    v2.createConfigurationSet(r -> r.configurationSetName("v1-clicks"));
    v2.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-clicks").eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.CLICK)
            .snsDestination(s -> s.topicArn(webhook.url("/v1-clicks")))));
    StringBuilder links = new StringBuilder();
    for (int i = 0; i < 500; i++) {
      links.append("<a href=\"https://example.com/").append(String.format("%03d", i)).append("a".repeat(900))
          .append("\">link</a>\r\n");
    }
    String html = links + html(LIMIT - 100 * 1024 - links.length());
    refusedOverTenMegabytes(() -> sendV1(html, "v1-clicks"));
  }

  /**
   * A raw message of 10 MB exactly, as given within v1's limit, is over it once its Message-ID and Date are added.
   */
  @Test
  void aV1RawMessageOverTenMegabytesOnceItsMessageIdAndDateAreAddedIsRefused() {
    StringBuilder m = new StringBuilder(LIMIT);
    m.append("From: big@example.com\r\nTo: big@example.org\r\nSubject: raw\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    String raw = m + html(LIMIT - m.length());
    byte[] bytes = raw.getBytes(StandardCharsets.US_ASCII);
    assertEquals(LIMIT, bytes.length);
    refusedOverTenMegabytes(() -> v1.sendRawEmail(r -> r.rawMessage(x -> x.data(SdkBytes.fromByteArray(bytes)))));
  }

  /**
   * A raw message sent for a contact list (its X-SES-LIST-MANAGEMENT-OPTIONS header) at 10 MB exactly once its
   * Message-ID and Date are added (measured on a small one first) is over it once its unsubscribe headers are.
   */
  @Test
  void aV1RawMessageOverTenMegabytesOnceItsUnsubscribeLinkIsAddedIsRefused() {
    v2.createContactList(r -> r.contactListName("v1-news"));
    String headers = "From: big@example.com\r\nTo: list@example.org\r\nSubject: news\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
    byte[] probe = (headers + "small\r\n").getBytes(StandardCharsets.US_ASCII);
    String probeId = v1.sendRawEmail(r -> r.rawMessage(x -> x.data(SdkBytes.fromByteArray(probe)))).messageId();
    int added = delivered(probeId).length - probe.length; // its Message-ID and Date
    // ending in CRLF, as a message is sent (one is added to a message that lacks it)
    byte[] raw = ("X-SES-LIST-MANAGEMENT-OPTIONS: v1-news\r\n" + headers
        + html(LIMIT - added - headers.length() - 2) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    assertTrue(raw.length <= LIMIT, "under v1's limit as given: " + raw.length);
    refusedOverTenMegabytes(() -> v1.sendRawEmail(r -> r.rawMessage(x -> x.data(SdkBytes.fromByteArray(raw)))));
  }

  /**
   * A raw message of 8-bit text from a domain that signs, 8 MB as given, is over 10 MB once converted to 7 bits for
   * its signature: quoted-printable (a quarter of its bytes 8-bit, each then three), half as large again.
   */
  @Test
  void aV1RawMessageOverTenMegabytesOnceConvertedToSevenBitsForItsSignatureIsRefused() {
    v2.createEmailIdentity(r -> r.emailIdentity("signed.example"));
    String line = "aaaaaa\u00e9".repeat(100) + "\r\n"; // 802 bytes
    String text = line.repeat(8 * 1024 * 1024 / 802);
    byte[] raw = ("From: news@signed.example\r\nTo: big@example.org\r\nSubject: eight bit\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text)
        .getBytes(StandardCharsets.UTF_8);
    assertTrue(raw.length < LIMIT - 1024 * 1024, "well under v1's limit as given: " + raw.length);
    refusedOverTenMegabytes(() -> v1.sendRawEmail(r -> r.rawMessage(x -> x.data(SdkBytes.fromByteArray(raw)))));
  }

  static byte[] delivered(String id) {
    return Await.until(() -> relay.received().stream().filter(r -> r.text().contains("<" + id + "@"))
        .findFirst().orElse(null), r -> r != null, Duration.ofSeconds(20)).data();
  }
}
