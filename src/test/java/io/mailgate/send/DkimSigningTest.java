package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.send.dkim.DkimKeyType;
import io.mailgate.send.dkim.DkimKeys;
import io.mailgate.testing.Await;
import io.mailgate.testing.Jdkim;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BehaviorOnMxFailure;

/**
 * Every message from a domain with DKIM is signed, whatever its content kind, and Apache James
 * jDKIM verifies the signature with the key the identity publishes. start-dev verifies identities
 * at once, so no DNS is needed here (the DNS checks have their own test).
 */
class DkimSigningTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static final Map<String, String> DNS = new HashMap<>();

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    publish(ses.createEmailIdentity(r -> r.emailIdentity("signed.example")).dkimAttributes().tokens().get(0),
        "signed.example");
  }

  static void publish(String selector, String domain) {
    Map.Entry<String, String> record = Jdkim.publishedKey(node, domain);
    assertEquals(selector + "._domainkey." + domain, record.getKey());
    DNS.put(record.getKey(), record.getValue());
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static byte[] received(String marker) {
    return Await.until(() -> relay.received().stream().filter(r -> r.text().contains(marker)).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(20)).data();
  }

  static String signatureHeader(byte[] message) {
    String s = new String(message, StandardCharsets.ISO_8859_1);
    int start = s.indexOf("DKIM-Signature:");
    return start < 0 ? null : s.substring(start, s.indexOf("\r\n", s.indexOf("b=", s.indexOf("bh=") + 3)));
  }

  @Test
  void simpleMessageIsSignedAndVerifies() {
    ses.sendEmail(r -> r.fromEmailAddress("News <news@signed.example>").destination(d -> d.toAddresses("a@example.org"))
        .replyToAddresses("help@signed.example")
        .content(c -> c.simple(m -> m.subject(s -> s.data("Signed simple — ünïcode"))
            .body(b -> b.text(t -> t.data("text")).html(h -> h.data("<p>html</p>")))
            .headers(h -> h.name("List-Unsubscribe").value("<https://signed.example/u>"),
                h -> h.name("X-Marker").value("simple-signed")))));
    byte[] msg = received("simple-signed");
    String header = signatureHeader(msg);
    assertNotNull(header, "no DKIM-Signature");
    String unfolded = header.replace("\r\n", "").replace("\t", " ");
    assertTrue(unfolded.contains("a=rsa-sha256"), header);
    assertTrue(unfolded.contains("c=relaxed/relaxed"), header);
    assertTrue(unfolded.contains("d=signed.example"), header);
    assertFalse(unfolded.contains(" l="), header);
    String h = unfolded.substring(unfolded.indexOf("h=") + 2);
    h = h.substring(0, h.indexOf(';')).replace(" ", "").toLowerCase();
    assertTrue(h.startsWith("from:") || h.contains(":from:"), h);
    assertEquals(2, h.split("from", -1).length - 1, "From oversigned: " + h);
    assertEquals(2, h.split("subject", -1).length - 1, "Subject oversigned: " + h);
    assertTrue(h.contains("list-unsubscribe"), h);
    assertTrue(h.contains("reply-to") && h.contains("mime-version") && h.contains("message-id"), h);
    assertNull(Jdkim.verify(msg, DNS));
  }

  @Test
  void rawWithFoldedHeadersAndNoFinalLineBreakVerifies() {
    String raw = "From: Raw <raw@signed.example>\r\nTo: b@example.org,\r\n\tc@example.org\r\n"
        + "Subject: a folded\r\n   raw subject\r\nX-Marker: raw-folded\r\n\r\nBody line\r\nno final line break";
    ses.sendEmail(r -> r.content(c -> c.raw(x -> x.data(SdkBytes.fromUtf8String(raw)))));
    byte[] msg = received("raw-folded");
    assertNotNull(signatureHeader(msg));
    assertNull(Jdkim.verify(msg, DNS));
  }

  /**
   * RFC 6376 5.3: an 8-bit body is made 7-bit before it is signed, so the signature survives servers without 8BITMIME
   * too (delivery converts to 7 bits for those; end to end in EightBitDeliveryTest).
   */
  @Test
  void eightBitBodyIsSignedIn7BitsAndVerifies() {
    String raw = "From: raw@signed.example\r\nTo: b@example.org\r\nSubject: 8bit\r\nX-Marker: eight-bit\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Grüße, 東京, ça va?  trailing spaces   \r\n\r\n\r\n";
    ses.sendEmail(r -> r.content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(raw.getBytes(StandardCharsets.UTF_8))))));
    byte[] msg = received("eight-bit");
    assertNull(Jdkim.verify(msg, DNS));
    String text = new String(msg, StandardCharsets.ISO_8859_1);
    assertTrue(text.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe"), text);
    for (byte b : msg) {
      assertTrue(b > 0, text);
    }
    assertFalse(relay.received().stream().filter(r -> r.text().contains("eight-bit")).findFirst().orElseThrow()
        .mailParams().contains("BODY=8BITMIME"));
  }

  @Test
  void tamperingBreaksTheSignature() {
    ses.sendEmail(r -> r.fromEmailAddress("t@signed.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("tamper-me")).body(b -> b.text(t -> t.data("original"))))));
    byte[] msg = received("tamper-me");
    assertNull(Jdkim.verify(msg, DNS));
    String changed = new String(msg, StandardCharsets.ISO_8859_1).replace("original", "0riginal");
    assertNotNull(Jdkim.verify(changed.getBytes(StandardCharsets.ISO_8859_1), DNS));
  }

  @Test
  void broughtKeySignsAndDisablingStopsSigning() {
    KeyPair pair = DkimKeys.generate(DkimKeyType.RSA_1024);
    String key = Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded());
    ses.createEmailIdentity(r -> r.emailIdentity("byo.example")
        .dkimSigningAttributes(d -> d.domainSigningSelector("byo1").domainSigningPrivateKey(key)));
    Map<String, String> dns = Map.of("byo1._domainkey.byo.example", DkimKeys.dnsTxtRecord(pair.getPublic()));
    ses.sendEmail(r -> r.fromEmailAddress("me@byo.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("byo-signed")).body(b -> b.text(t -> t.data("x"))))));
    assertNull(Jdkim.verify(received("byo-signed"), dns));

    ses.putEmailIdentityDkimAttributes(r -> r.emailIdentity("byo.example").signingEnabled(false));
    ses.sendEmail(r -> r.fromEmailAddress("me@byo.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("byo-unsigned")).body(b -> b.text(t -> t.data("x"))))));
    assertNull(signatureHeader(received("byo-unsigned")));
  }

  /** SES v1's SetIdentityDkimEnabled on an address: that address's mail unsigned, its domain's other mail signed. */
  @Test
  void anAddressIdentityMayHaveItsSigningTurnedOff() {
    ses.createEmailIdentity(r -> r.emailIdentity("quiet@signed.example"));
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1()) {
      v1.setIdentityDkimEnabled(r -> r.identity("quiet@signed.example").dkimEnabled(false));
    }
    Await.until(() -> {
      String subject = "quiet-" + System.nanoTime();
      ses.sendEmail(r -> r.fromEmailAddress("quiet@signed.example").destination(d -> d.toAddresses("a@example.org"))
          .content(c -> c.simple(m -> m.subject(x -> x.data(subject)).body(b -> b.text(t -> t.data("x"))))));
      return signatureHeader(received(subject)) == null; // once the identity cache has the change
    }, Duration.ofSeconds(10));
    assertFalse(ses.getEmailIdentity(r -> r.emailIdentity("quiet@signed.example")).dkimAttributes().signingEnabled());
    ses.sendEmail(r -> r.fromEmailAddress("loud@signed.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("loud-signed")).body(b -> b.text(t -> t.data("x"))))));
    assertNull(Jdkim.verify(received("loud-signed"), DNS));
  }

  @Test
  void customMailFromBecomesTheEnvelopeSender() {
    ses.createEmailIdentity(r -> r.emailIdentity("bounce-here.example"));
    ses.putEmailIdentityMailFromAttributes(r -> r.emailIdentity("bounce-here.example")
        .mailFromDomain("mail.bounce-here.example").behaviorOnMxFailure(BehaviorOnMxFailure.REJECT_MESSAGE));
    String id = ses.sendEmail(r -> r.fromEmailAddress("me@bounce-here.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("mail-from-check")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    RecordingSmtpServer.Received got = Await.until(() -> relay.received().stream()
        .filter(r -> r.text().contains("mail-from-check")).findFirst().orElse(null), r -> r != null, Duration.ofSeconds(20));
    String[] envelope = got.mailFrom().split("@");
    assertEquals("mail.bounce-here.example", envelope[1]);
    io.mailgate.delivery.Verp verp = new io.mailgate.delivery.Verp(io.mailgate.identity.SecretBox.fromBase64(TestNode.MASTER_KEY));
    assertEquals(new io.mailgate.delivery.Verp.Target(id, 0), verp.parse(envelope[0]).orElseThrow());
  }
}
