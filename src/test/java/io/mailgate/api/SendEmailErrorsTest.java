package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.MessageRejectedException;
import software.amazon.awssdk.services.sesv2.model.SesV2Exception;

/** Bad input gets an SES-shaped 400 (or 403) and leaves nothing stored and nothing sent. */
class SendEmailErrorsTest {
  static final int MAX_BYTES = 100_000;
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.SEND_MAX_MESSAGE_BYTES, MAX_BYTES));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  @AfterEach
  void nothingStoredNothingSent() {
    String pg = node.config().get(MailgateConfig.PG_URL);
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM messages"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM recipients"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events"));
    assertEquals(0, relay.received().size());
  }

  static String simple(String from, String to, String subject) {
    return new JsonObject()
        .put("FromEmailAddress", from)
        .put("Destination", new JsonObject().put("ToAddresses", new JsonArray().add(to)))
        .put("Content", new JsonObject().put("Simple", new JsonObject()
            .put("Subject", new JsonObject().put("Data", subject))
            .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "body")))))
        .encode();
  }

  static String withHeaders(JsonObject ok, JsonArray headers) {
    JsonObject request = ok.copy();
    request.getJsonObject("Content").getJsonObject("Simple").put("Headers", headers);
    return request.encode();
  }

  static Stream<Arguments> badRequests() {
    JsonObject ok = new JsonObject(simple("a@example.com", "b@example.org", "s"));
    JsonArray many = new JsonArray();
    for (int i = 0; i < 51; i++) {
      many.add("r" + i + "@example.org");
    }
    JsonArray sixteen = new JsonArray();
    for (int i = 0; i < 16; i++) {
      sixteen.add(new JsonObject().put("Name", "X-H" + i).put("Value", "v"));
    }
    String big = Base64.getEncoder().encodeToString(("From: a@example.com\r\nTo: b@example.org\r\n\r\n"
        + "x".repeat(900) + "\r\n").repeat(120).getBytes());
    String bigger = Base64.getEncoder().encodeToString(("From: a@example.com\r\nTo: b@example.org\r\n\r\n"
        + "x".repeat(900) + "\r\n").repeat(300).getBytes());
    return Stream.of(
        Arguments.of("malformed JSON", "{\"FromEmailAddress\": \"a@example.com\",", "Malformed JSON"),
        Arguments.of("not an object", "[1, 2]", "JSON object"),
        Arguments.of("empty body", "", "empty"),
        Arguments.of("missing content", ok.copy().put("Content", null).encode(), "Content"),
        Arguments.of("missing from", ok.copy().put("FromEmailAddress", null).encode(), "FromEmailAddress"),
        Arguments.of("missing destination", ok.copy().put("Destination", null).encode(), "Destination"),
        Arguments.of("invalid recipient", simple("a@example.com", "not-an-address", "s"), "not-an-address"),
        Arguments.of("invalid sender", simple("a@@example.com", "b@example.org", "s"), "address"),
        Arguments.of("CRLF in subject", simple("a@example.com", "b@example.org", "Hi\r\nBcc: x@example.org"), "Subject"),
        Arguments.of("CRLF in display name", simple("Evil\r\nBcc: x@example.org <a@example.com>", "b@example.org", "s"),
            "control character"),
        Arguments.of("51 recipients", ok.copy().put("Destination", new JsonObject().put("ToAddresses", many)).encode(),
            "exceeds 50"),
        Arguments.of("wrong type", ok.copy().put("Destination", new JsonObject().put("ToAddresses", "b@example.org"))
            .encode(), "Destination.ToAddresses"),
        Arguments.of("bad base64", ok.copy().put("Content", new JsonObject().put("Raw",
            new JsonObject().put("Data", "!!!not base64!!!"))).encode(), "base64"),
        Arguments.of("raw over the size limit", ok.copy().put("Content", new JsonObject().put("Raw",
            new JsonObject().put("Data", big))).encode(), "Message length"),
        Arguments.of("unknown charset", ok.copy().put("Content", new JsonObject().put("Simple", new JsonObject()
            .put("Subject", new JsonObject().put("Data", "s").put("Charset", "no-such-charset"))
            .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "b"))))).encode(), "charset"),
        Arguments.of("header injection", ok.copy().put("Content", new JsonObject().put("Simple", new JsonObject()
            .put("Subject", new JsonObject().put("Data", "s"))
            .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "b")))
            .put("Headers", new JsonArray().add(new JsonObject().put("Name", "X-A").put("Value", "1\nBcc: v@example.org")))))
            .encode(), "X-A"),
        Arguments.of("16 headers (SES allows 15)", withHeaders(ok, sixteen), "at most 15"),
        Arguments.of("an empty header value (SES: 1 to 995 characters)", withHeaders(ok, new JsonArray()
            .add(new JsonObject().put("Name", "X-Empty").put("Value", ""))), "empty value"),
        Arguments.of("a header value of 996 characters", withHeaders(ok, new JsonArray()
            .add(new JsonObject().put("Name", "X").put("Value", "v".repeat(996)))), "longer than 995"),
        Arguments.of("an attachment ContentType over SES's 78 characters", ok.copy().put("Content", new JsonObject()
            .put("Simple", new JsonObject().put("Subject", new JsonObject().put("Data", "s"))
                .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "b")))
                .put("Attachments", new JsonArray().add(new JsonObject().put("FileName", "a.bin")
                    .put("RawContent", "AAE=").put("ContentType", "application/" + "x".repeat(67)))))).encode(),
            "ContentType"),
        Arguments.of("a once-only header twice", withHeaders(ok, new JsonArray()
            .add(new JsonObject().put("Name", "Precedence").put("Value", "bulk"))
            .add(new JsonObject().put("Name", "precedence").put("Value", "list"))), "only once"),
        Arguments.of("two content kinds", ok.copy().put("Content", new JsonObject()
            .put("Raw", new JsonObject().put("Data", "QQ=="))
            .put("Simple", ok.getJsonObject("Content").getJsonObject("Simple"))).encode(), "exactly one"),
        Arguments.of("header injection through a ContentId beyond ASCII (U+010D U+010A: CR LF once cut to bytes)",
            ok.copy().put("Content", new JsonObject().put("Simple", new JsonObject()
                .put("Subject", new JsonObject().put("Data", "s"))
                .put("Body", new JsonObject().put("Html", new JsonObject().put("Data", "<img src=\"cid:x\">")))
                .put("Attachments", new JsonArray().add(new JsonObject().put("FileName", "a.png")
                    .put("RawContent", "iVBORw0KGgo=").put("ContentDisposition", "INLINE")
                    .put("ContentId", "x\u010D\u010AX-Evil:\u0120injected"))))).encode(), "ContentId"),
        Arguments.of("a charset Java can only decode", ok.copy().put("Content", new JsonObject().put("Simple",
            new JsonObject().put("Subject", new JsonObject().put("Data", "s"))
                .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "b")
                    .put("Charset", "x-JISAutoDetect"))))).encode(), "charset"),
        // over 256 KB: authenticated, then parsed and decoded on a worker thread, with the same answers
        Arguments.of("malformed JSON over 256 KB", "{\"FromEmailAddress\": \"" + "a".repeat(300_000) + "\",",
            "Malformed JSON"),
        // characters outside base64's alphabet are refused, not skipped: skipped, these would send other bytes
        Arguments.of("URL-safe base64", ok.copy().put("Content", new JsonObject().put("Raw",
            new JsonObject().put("Data", "-_-_" + Base64.getEncoder().encodeToString(
                "From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n\r\nbody\r\n".getBytes())))).encode(),
            "Invalid base64 in field Content.Raw.Data"),
        Arguments.of("a stray character in an attachment", ok.copy().put("Content", new JsonObject().put("Simple",
            new JsonObject().put("Subject", new JsonObject().put("Data", "s"))
                .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "b")))
                .put("Attachments", new JsonArray().add(new JsonObject().put("FileName", "a.png")
                    .put("RawContent", "iVBO*Rw0KGgo=")))))
            .encode(), "Invalid base64"),
        Arguments.of("bad base64 over 256 KB", ok.copy().put("Content", new JsonObject().put("Raw",
            new JsonObject().put("Data", "!!!not base64!!!".repeat(20_001)))).encode(), "base64"),
        Arguments.of("raw over the size limit, over 256 KB", ok.copy().put("Content", new JsonObject().put("Raw",
            new JsonObject().put("Data", bigger))).encode(), "Message length"),
        Arguments.of("empty attachments whose parts alone are over the size limit", ok.copy().put("Content",
            new JsonObject().put("Simple", new JsonObject().put("Subject", new JsonObject().put("Data", "s"))
                .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "b")))
                .put("Attachments", new JsonArray(java.util.Collections.nCopies(MAX_BYTES / 100,
                    new JsonObject().put("FileName", "a").put("RawContent", "")))))).encode(), "Message length"),
        Arguments.of("bad tag", ok.copy().put("EmailTags", new JsonArray().add(new JsonObject().put("Name", "a b")
            .put("Value", "v"))).encode(), "EmailTag"),
        Arguments.of("a colon in a tag name", ok.copy().put("EmailTags", new JsonArray().add(new JsonObject()
            .put("Name", "team:billing").put("Value", "v"))).encode(), "only ASCII letters"),
        Arguments.of("a reserved tag name", ok.copy().put("EmailTags", new JsonArray().add(new JsonObject()
            .put("Name", "ses:source-ip").put("Value", "v"))).encode(), "reserved"),
        Arguments.of("an address over 254 characters", simple("a".repeat(64) + "@" + String.join(".", "b".repeat(62),
            "c".repeat(62), "d".repeat(62), "e".repeat(62)), "to@example.com", "s"), "254"),
        Arguments.of("a domain IDNA2003 would map elsewhere", simple("sender@example.com", "user@faß.de", "s"),
            "Punycode"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void badRequestIsRefused(String name, String body, String messagePart) {
    HttpResponse<String> r = node.signed("POST", "/v2/email/outbound-emails", body,
        Map.of("Content-Type", "application/json"));
    assertEquals(400, r.statusCode(), r.body());
    assertEquals("BadRequestException", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
    String message = new JsonObject(r.body()).getString("message");
    assertTrue(message.contains(messagePart), "message '" + message + "' should mention " + messagePart);
    assertTrue(!r.body().contains("Exception:") && !r.body().contains("\tat "), "no stack trace: " + r.body());
  }

  @Test
  void requestBodyBeyondTheLimitIsRefusedWithoutReadingItAll() {
    String huge = "{\"Content\":{\"Raw\":{\"Data\":\"" + "A".repeat(MAX_BYTES * 2 + 2 * 1024 * 1024) + "\"}}}";
    HttpResponse<String> r = node.signed("POST", "/v2/email/outbound-emails", huge, Map.of());
    assertEquals(400, r.statusCode(), r.body());
    assertEquals("BadRequestException", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
  }

  @Test
  void sdkSeesTypedExceptions() {
    BadRequestException bad = assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r
        .fromEmailAddress("a@example.com")
        .destination(d -> d.toAddresses("broken"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))));
    assertEquals(400, bad.statusCode());
    assertTrue(bad.awsErrorDetails().errorMessage().contains("broken"));
    MessageRejectedException rejected = assertThrows(MessageRejectedException.class, () -> ses.sendEmail(r -> r
        .fromEmailAddress("a@example.com")
        .destination(d -> d.toAddresses("b@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))
            .attachments(a -> a.fileName("setup.exe").rawContent(software.amazon.awssdk.core.SdkBytes.fromUtf8String("MZ")))))));
    assertTrue(rejected.getMessage().contains("Illegal filename"));
  }

  @Test
  void authenticationErrors() throws Exception {
    HttpResponse<String> none = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create(node.endpoint() + "/v2/email/outbound-emails"))
        .POST(HttpRequest.BodyPublishers.ofString(simple("a@example.com", "b@example.org", "s"))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(403, none.statusCode());
    assertEquals("MissingAuthenticationTokenException", none.headers().firstValue("x-amzn-ErrorType").orElse(null));

    try (SesV2Client stranger = node.sesV2("AKIAUNKNOWNKEY000000", "whatever")) {
      SesV2Exception e = assertThrows(SesV2Exception.class, () -> stranger.sendEmail(r -> r
          .fromEmailAddress("a@example.com").destination(d -> d.toAddresses("b@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))));
      assertEquals(403, e.statusCode());
      assertEquals("UnrecognizedClientException", e.awsErrorDetails().errorCode());
    }

    // a NUL in the claimed key id failed the key lookup in PostgreSQL: a 500 and a stack trace for anyone
    HttpResponse<String> nul = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(node.endpoint()
            + "/v2/email/outbound-emails?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=A%00B%2F20250101%2Fus-east-1%2Fses%2Faws4_request&X-Amz-Date=20250101T000000Z"
            + "&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=00"))
        .POST(HttpRequest.BodyPublishers.ofString(simple("a@example.com", "b@example.org", "s"))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(403, nul.statusCode(), nul.body()); // SignatureDoesNotMatch: no key has that id
  }

  @Test
  void unknownOperation() {
    HttpResponse<String> r = node.signed("GET", "/v2/email/no-such-thing", null, Map.of());
    assertEquals(404, r.statusCode());
    assertEquals("UnknownOperationException", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
  }
}
