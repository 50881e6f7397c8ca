package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.identity.SecretBox;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * Direct delivery against SMTP servers on loopback addresses (127.0.0.x, one port) that a DNS
 * server run by the test names as MX hosts: routing, retries, deadlines, hard failures, timeouts,
 * throttling, VERP and DSN parameters.
 */
class DirectDeliveryTest {
  static final int MAX_DELIVERY_SECONDS = 8;
  static int port;
  static FakeDnsServer dns;
  static TestNode node;
  static SesV2Client ses;
  static final List<RecordingSmtpServer> servers = new ArrayList<>();

  static RecordingSmtpServer server(String ip) throws IOException {
    RecordingSmtpServer s = new RecordingSmtpServer(InetAddress.getByName(ip), port);
    servers.add(s);
    return s;
  }

  @BeforeAll
  static void start() throws IOException {
    port = EmbeddedServices.freePort();
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    Path throttles = Files.createTempFile("throttle", ".txt");
    Files.writeString(throttles, "2 0.5 code=421\n");
    node = TestNode.start("", c -> direct(c)
        .with(MailgateConfig.DELIVERY_THROTTLE_RULES_FILE, throttles.toString())
        .with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.mailgate.test"));
    ses = node.sesV2();
  }

  /** Direct delivery to this class's fake MX hosts, through its fake DNS, with short timeouts and retries. */
  static MailgateConfig direct(MailgateConfig c) {
    return c.with(MailgateConfig.DELIVERY_MODE, "direct")
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DNS_MIN_TTL_SECONDS, 0)
        .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
        .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 1)
        .with(MailgateConfig.DELIVERY_RETRY_MAX_SECONDS, 2)
        .with(MailgateConfig.DELIVERY_MAX_DELIVERY_SECONDS, MAX_DELIVERY_SECONDS)
        .with(MailgateConfig.DELIVERY_COMMAND_TIMEOUT_SECONDS, 1)
        .with(MailgateConfig.DELIVERY_DATA_TIMEOUT_SECONDS, 4)
        .with(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS, 2);
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    for (RecordingSmtpServer s : servers) {
      s.close();
    }
    dns.close();
  }

  static String send(String to, String subject) {
    return ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject)).body(b -> b.text(t -> t.data("body")))))).messageId();
  }

  static List<String> eventTypes(JsonObject status) {
    List<String> out = new ArrayList<>();
    for (Object o : status.getJsonArray("Events")) {
      out.add(((JsonObject) o).getString("eventType"));
    }
    return out;
  }

  /** Waits until the recipient is done (delivered or bounced); the message's status then. */
  static JsonObject awaitFinal(String id) {
    return Await.until(() -> node.message(id), m -> !m.getJsonArray("Recipients").getJsonObject(0)
        .getString("Status").equals("QUEUED"), Duration.ofSeconds(MAX_DELIVERY_SECONDS + 15));
  }

  static JsonObject last(JsonObject status, String type) {
    JsonObject found = null;
    for (Object o : status.getJsonArray("Events")) {
      if (((JsonObject) o).getString("eventType").equals(type)) {
        found = (JsonObject) o;
      }
    }
    return found;
  }

  @Test
  void lowestPreferenceFirstThenTheNextHost() throws IOException {
    RecordingSmtpServer best = server("127.0.0.2");
    RecordingSmtpServer second = server("127.0.0.3");
    dns.mx("order.example", 20, "mx2.order.example").mx("order.example", 10, "mx1.order.example")
        .a("mx1.order.example", "127.0.0.2").a("mx2.order.example", "127.0.0.3");
    awaitFinal(send("a@order.example", "order"));
    assertEquals(1, best.received().size());
    assertEquals(0, second.received().size());

    // the preferred host is down: the next one gets it
    RecordingSmtpServer up = server("127.0.0.5");
    dns.mx("fallback.example", 10, "mx1.fallback.example").mx("fallback.example", 20, "mx2.fallback.example")
        .a("mx1.fallback.example", "127.0.0.4").a("mx2.fallback.example", "127.0.0.5");
    JsonObject status = awaitFinal(send("b@fallback.example", "fallback"));
    assertEquals("DELIVERED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertEquals(1, up.received().size());
    assertEquals("127.0.0.5", last(status, "Delivery").getJsonObject("delivery").getString("remoteMtaIp"));
  }

  /**
   * A host that refused a connection is not tried again until its retry time (10 minutes here, so that nothing in the
   * test races it): its recipient goes back to the queue without an attempt, and another domain sharing the host
   * goes to its next MX at once, without a connection to the host even once it is back. The retry time's arithmetic is
   * HostHealthTest's.
   */
  @Test
  void aHostThatCannotBeConnectedToIsLeftAloneUntilItsRetryTime() throws IOException {
    dns.mx("down.example", 10, "mx.down.example").a("mx.down.example", "127.0.0.23")
        .mx("shared.example", 10, "mx1.shared.example").mx("shared.example", 20, "mx2.shared.example")
        .a("mx1.shared.example", "127.0.0.23").a("mx2.shared.example", "127.0.0.24");
    try (TestNode patient = TestNode.start("", c -> direct(c)
            .with(MailgateConfig.DELIVERY_HOST_RETRY_SECONDS, 600)
            .with(MailgateConfig.DELIVERY_MAX_DELIVERY_SECONDS, 3600));
         SesV2Client client = patient.sesV2()) {
      String id = client.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("d@down.example"))
          .content(c -> c.simple(m -> m.subject(x -> x.data("host down")).body(b -> b.text(t -> t.data("b"))))))
          .messageId();
      JsonObject delayed = Await.until(() -> patient.message(id), m -> eventTypes(m).contains("DeliveryDelay"),
          Duration.ofSeconds(15));
      String diagnostic = last(delayed, "DeliveryDelay").getJsonObject("deliveryDelay")
          .getJsonArray("delayedRecipients").getJsonObject(0).getString("diagnosticCode");
      assertTrue(diagnostic.contains("cannot connect to mx.down.example[127.0.0.23]"), diagnostic);
      JsonArray unreachable = new JsonObject(patient.signed("GET", "/_mailgate/delivery/sites", null, Map.of())
          .body()).getJsonArray("UnreachableHosts");
      assertTrue(unreachable.stream().anyMatch(h -> ((JsonObject) h).getString("Host").equals("127.0.0.23:" + port)),
          unreachable.encode());

      RecordingSmtpServer back = server("127.0.0.23");
      RecordingSmtpServer second = server("127.0.0.24");
      String other = client.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("s@shared.example"))
          .content(c -> c.simple(m -> m.subject(x -> x.data("shared")).body(b -> b.text(t -> t.data("b"))))))
          .messageId();
      JsonObject sent = patient.awaitOutcomes(other, 1);
      assertEquals("DELIVERED", sent.getJsonArray("Recipients").getJsonObject(0).getString("Status"), sent.encode());
      assertEquals(1, second.received().size());
      // with retries a second apart, the first message would have been tried (and delivered) by now
      sleep(3000);
      JsonObject waiting = patient.message(id).getJsonArray("Recipients").getJsonObject(0);
      assertEquals("QUEUED", waiting.getString("Status"));
      assertEquals(1, waiting.getInteger("Attempts"), "deferrals are not attempts");
      assertEquals(0, back.connections(), "not one connection to the host before its retry time");
    }
  }

  /** A server that answers EHLO and then nothing: MAIL, RCPT and DATA (pipelined together) go unanswered. */
  static String silentAfterEhlo(String line) {
    return line.startsWith("MAIL") || line.startsWith("RCPT") || line.equals("DATA") ? "" : null;
  }

  /**
   * A host that greets and answers EHLO, then never answers MAIL, with a command timeout longer than an attempt may
   * wait for a connection (half its lease, as the defaults are: 300 s and 150 s): the attempt counts, with its
   * DeliveryDelay and a retry after backoff. It used to be given back "not attempted" after the timeout, for having
   * waited too long by the time it was put back in line to go again, and so on, uncounted and silent, until the
   * message expired.
   */
  @Test
  void aHostSilentAfterEhloIsACountedAttempt() throws IOException {
    server("127.0.0.30").onCommand(DirectDeliveryTest::silentAfterEhlo);
    dns.mx("silent.example", 10, "mx.silent.example").a("mx.silent.example", "127.0.0.30");
    try (TestNode leased = TestNode.start("", c -> direct(c)
            .with(MailgateConfig.DELIVERY_LEASE_SECONDS, 2)
            .with(MailgateConfig.DELIVERY_COMMAND_TIMEOUT_SECONDS, 2)
            .with(MailgateConfig.DELIVERY_MAX_DELIVERY_SECONDS, 3600));
         SesV2Client client = leased.sesV2()) {
      String id = client.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("s@silent.example"))
          .content(c -> c.simple(m -> m.subject(x -> x.data("silent")).body(b -> b.text(t -> t.data("b"))))))
          .messageId();
      JsonObject delayed = Await.until(() -> leased.message(id), m -> eventTypes(m).contains("DeliveryDelay"),
          Duration.ofSeconds(20));
      JsonObject recipient = delayed.getJsonArray("Recipients").getJsonObject(0);
      assertEquals("QUEUED", recipient.getString("Status"));
      assertEquals(1, recipient.getInteger("Attempts"), delayed.encode());
      JsonObject delay = last(delayed, "DeliveryDelay").getJsonObject("deliveryDelay");
      String diagnostic = delay.getJsonArray("delayedRecipients").getJsonObject(0).getString("diagnosticCode");
      assertTrue(diagnostic.contains("timeout after 2s waiting for the reply to MAIL FROM"), diagnostic);
    }
  }

  /**
   * RFC 5321 5.1: a preferred MX that takes the connection and greets, then drops the session at MAIL, does not keep
   * the domain's mail from its secondary: the same attempt goes there (no DeliveryDelay), and the next message goes
   * there first, without a connection to the primary.
   */
  @Test
  void aPrimaryThatDropsTheSessionLeavesTheMessageToTheSecondary() throws IOException {
    RecordingSmtpServer primary = server("127.0.0.31")
        .onCommand(line -> line.startsWith("MAIL") ? RecordingSmtpServer.DROP : null);
    RecordingSmtpServer secondary = server("127.0.0.32");
    dns.mx("session.example", 10, "mx1.session.example").mx("session.example", 20, "mx2.session.example")
        .a("mx1.session.example", "127.0.0.31").a("mx2.session.example", "127.0.0.32");
    JsonObject status = awaitFinal(send("p@session.example", "primary drops"));
    assertEquals(List.of("Send", "Delivery"), eventTypes(status));
    JsonObject recipient = status.getJsonArray("Recipients").getJsonObject(0);
    assertEquals("DELIVERED", recipient.getString("Status"));
    assertTrue(recipient.getInteger("Attempts") <= 1, status.encode());
    assertEquals("127.0.0.32", last(status, "Delivery").getJsonObject("delivery").getString("remoteMtaIp"));
    assertEquals(1, secondary.received().size());
    assertTrue(primary.received().isEmpty());

    JsonObject next = awaitFinal(send("q@session.example", "primary left alone"));
    assertEquals("DELIVERED", next.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertEquals(2, secondary.received().size());
    assertEquals(1, primary.connections(), "the primary was tried again at once");
  }

  /**
   * RFC 5321 4.5.3.1.10: "too many recipients" (452, or 552 as older servers say it, x.5.3) is a limit of the
   * transaction or, one recipient to a transaction here, of the session: the recipient goes at once in a new
   * transaction on another connection. It is not a bounce (a 552 is to be taken as temporary), nor a reason to pause
   * the site.
   */
  @Test
  void tooManyRecipientsSendsTheRecipientInANewTransaction() throws IOException {
    AtomicInteger tries = new AtomicInteger();
    RecordingSmtpServer limited = server("127.0.0.33")
        .onRcpt(r -> tries.incrementAndGet() == 1 ? "552 5.5.3 Too many recipients" : "250 2.1.5 Ok");
    dns.mx("limit.example", 10, "mx.limit.example").a("mx.limit.example", "127.0.0.33");
    JsonObject status = awaitFinal(send("r@limit.example", "too many"));
    assertEquals(List.of("Send", "Delivery"), eventTypes(status));
    assertEquals(1, limited.received().size());
    assertEquals(2, limited.connections(), "the recipient went again on the connection that refused it");

    AtomicInteger softTries = new AtomicInteger();
    server("127.0.0.34")
        .onRcpt(r -> softTries.incrementAndGet() == 1 ? "452 4.5.3 Too many recipients" : "250 2.1.5 Ok");
    dns.mx("limit2.example", 10, "mx.limit2.example").a("mx.limit2.example", "127.0.0.34");
    JsonObject soft = awaitFinal(send("s@limit2.example", "too many, softly"));
    assertEquals(List.of("Send", "Delivery"), eventTypes(soft));
    JsonObject site = site("mx.limit2.example");
    assertFalse(site.containsKey("PausedUntil"), site.encode());
    assertFalse(site.containsKey("LastThrottle"), site.encode());
    assertEquals(1.0, site.getDouble("ThrottleFactor"));
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void withoutMxTheDomainsOwnAddressIsUsed() throws IOException {
    RecordingSmtpServer implicit = server("127.0.0.6");
    dns.a("implicit.example", "127.0.0.6");
    JsonObject status = awaitFinal(send("c@implicit.example", "implicit"));
    assertEquals("DELIVERED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertEquals(List.of("c@implicit.example"), implicit.received().get(0).rcptTo());
  }

  @Test
  void nullMxAndNxdomainBouncePermanentlyWithoutAConnection() {
    dns.nullMx("nomail.example").a("nomail.example", "127.0.0.6");
    JsonObject nullMx = awaitFinal(send("d@nomail.example", "null mx"));
    JsonObject bounce = last(nullMx, "Bounce").getJsonObject("bounce");
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals("5.1.10", bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("status"));
    assertEquals(List.of("Send", "Bounce"), eventTypes(nullMx));

    JsonObject nx = awaitFinal(send("e@no-such-domain.example", "nxdomain"));
    JsonObject nxBounce = last(nx, "Bounce").getJsonObject("bounce");
    assertEquals("Permanent", nxBounce.getString("bounceType"));
    assertEquals("5.1.2", nxBounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("status"));
  }

  @Test
  void softFailureIsRetriedThenDelivered() throws IOException {
    AtomicInteger tries = new AtomicInteger();
    RecordingSmtpServer flaky = server("127.0.0.7")
        .onRcpt(r -> tries.incrementAndGet() == 1 ? "451 4.3.0 Temporary local problem" : "250 2.1.5 Ok");
    dns.mx("flaky.example", 10, "mx.flaky.example").a("mx.flaky.example", "127.0.0.7");
    String id = send("f@flaky.example", "retry then ok");
    JsonObject status = awaitFinal(id);
    assertEquals(List.of("Send", "DeliveryDelay", "Delivery"), eventTypes(status));
    JsonObject delay = last(status, "DeliveryDelay").getJsonObject("deliveryDelay");
    assertEquals("RecipientServerError", delay.getString("delayType"));
    assertEquals("4.3.0", delay.getJsonArray("delayedRecipients").getJsonObject(0).getString("status"));
    assertTrue(delay.getString("expirationTime").compareTo(delay.getString("timestamp")) > 0);
    assertEquals(2, status.getJsonArray("Recipients").getJsonObject(0).getInteger("Attempts"));
    assertEquals(1, flaky.received().size());
  }

  @Test
  void softFailuresUntilTheDeadlineEndInATransientBounce() throws IOException {
    RecordingSmtpServer full = server("127.0.0.8").onRcpt(r -> "452 4.2.2 Mailbox full, over quota");
    dns.mx("full.example", 10, "mx.full.example").a("mx.full.example", "127.0.0.8");
    JsonObject status = awaitFinal(send("g@full.example", "never fits"));
    List<String> types = eventTypes(status);
    assertEquals("Bounce", types.get(types.size() - 1));
    assertTrue(types.contains("DeliveryDelay"), types.toString());
    JsonObject bounce = last(status, "Bounce").getJsonObject("bounce");
    assertEquals("Transient", bounce.getString("bounceType"));
    assertEquals("MailboxFull", bounce.getString("bounceSubType"));
    assertEquals("MailboxFull", last(status, "DeliveryDelay").getJsonObject("deliveryDelay").getString("delayType"));
    assertTrue(full.received().isEmpty());
  }

  @Test
  void aPositiveReplyOutOfStepIsNotADelivery() throws IOException {
    // 354 after the final dot: the server is not where the conversation is; nothing says it took the message
    RecordingSmtpServer odd = server("127.0.0.21").onData(rcpt -> "354 more please");
    dns.mx("odd.example", 10, "mx.odd.example").a("mx.odd.example", "127.0.0.21");
    String id = send("o@odd.example", "out of step");
    JsonObject status = Await.until(() -> node.message(id), m -> eventTypes(m).contains("DeliveryDelay"),
        Duration.ofSeconds(15));
    assertFalse(eventTypes(status).contains("Delivery"), status.encode());
    assertEquals("QUEUED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
  }

  @Test
  void tenantDnsCannotPointTheNodeAtPrivateAddresses() throws IOException {
    RecordingSmtpServer internal = server("127.0.0.22");
    dns.mx("internal.example", 10, "mx.internal.example").a("mx.internal.example", "127.0.0.22");
    // a node as deployed: private addresses refused (this class's node allows them, for its fake MX hosts)
    try (TestNode strict = TestNode.start("", c -> c
        .with(MailgateConfig.DELIVERY_MODE, "direct")
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DNS_MIN_TTL_SECONDS, 0)
        .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
        .with(MailgateConfig.DELIVERY_ALLOW_PRIVATE_ADDRESSES, false));
        SesV2Client client = strict.sesV2()) {
      String id = client.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("i@internal.example"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t")))))).messageId();
      // a soft failure (as a host refusing connections would be), never a hard bounce that would suppress the address
      JsonObject status = Await.until(() -> strict.message(id), m -> eventTypes(m).contains("DeliveryDelay"),
          Duration.ofSeconds(15));
      assertFalse(eventTypes(status).contains("Bounce"), status.encode());
      assertTrue(status.getJsonArray("Recipients").getJsonObject(0).getString("SmtpResponse").contains("non-public"),
          status.encode());
      // an address literal does not even get in (as in SES)
      org.junit.jupiter.api.Assertions.assertThrows(software.amazon.awssdk.services.sesv2.model.BadRequestException.class,
          () -> client.sendEmail(r -> r.fromEmailAddress("sender@example.com")
              .destination(d -> d.toAddresses("j@[127.0.0.22]"))
              .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t")))))));
    }
    assertTrue(internal.received().isEmpty());
    assertTrue(internal.commands().isEmpty(), "no connection at all");
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("10.1.2.3")));
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("100.64.0.1")));
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("169.254.169.254")));
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("fd00::1")));
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("::")));
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("64:ff9b::a01:203")), "NAT64 of 10.1.2.3");
    assertTrue(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("64:ff9b::c000:20a")), "NAT64 of 192.0.2.10");
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("::a01:203")), "IPv4-compatible 10.1.2.3");
    assertFalse(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("198.18.0.1")));
    assertTrue(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("192.0.2.10")));
    assertTrue(io.mailgate.NetAddresses.isPublic(InetAddress.getByName("2001:db8::1")));
  }

  @Test
  void theLastTryIsAtTheDeadline() {
    java.time.Instant now = java.time.Instant.parse("2026-01-01T00:00:00Z");
    java.time.Instant deadline = now.plusSeconds(600);
    assertEquals(now.plusSeconds(60), DeliveryVerticle.lastTry(now.plusSeconds(60), now, deadline));
    assertEquals(deadline, DeliveryVerticle.lastTry(now.plusSeconds(3600), now, deadline), "not given up early");
    assertEquals(null, DeliveryVerticle.lastTry(now.plusSeconds(3600), deadline, deadline), "given up after it");
  }

  @Test
  void hardFailureIsNotRetried() throws IOException {
    RecordingSmtpServer strict = server("127.0.0.9").onRcpt(r -> "550 5.1.1 <" + r + ">: Recipient address rejected");
    dns.mx("strict.example", 10, "mx.strict.example").a("mx.strict.example", "127.0.0.9");
    JsonObject status = awaitFinal(send("h@strict.example", "hard"));
    assertEquals(List.of("Send", "Bounce"), eventTypes(status));
    JsonObject bounce = last(status, "Bounce").getJsonObject("bounce");
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals("NoEmail", bounce.getString("bounceSubType"));
    assertEquals(1, strict.commands().stream().filter(c -> c.startsWith("RCPT")).count());
  }

  /**
   * RFC 1870: a message larger than the SIZE the server advertises would be refused after it was all sent. It bounces
   * at once (552) without a MAIL command, instead of costing the transfer and then being refused.
   */
  @Test
  void messageOverTheAdvertisedSizeBouncesWithoutBeingSent() throws IOException {
    RecordingSmtpServer small = server("127.0.0.13").extensions("PIPELINING\r\n250-SIZE 100\r\n250 8BITMIME");
    dns.mx("small.example", 10, "mx.small.example").a("mx.small.example", "127.0.0.13");
    JsonObject status = awaitFinal(send("k@small.example", "too large for this server"));
    assertEquals(List.of("Send", "Bounce"), eventTypes(status));
    JsonObject bounce = last(status, "Bounce").getJsonObject("bounce");
    // SES files a message too large as a Transient bounce of subtype MessageTooLarge; it is not retried
    assertEquals("Transient", bounce.getString("bounceType"), bounce.encode());
    assertEquals("MessageTooLarge", bounce.getString("bounceSubType"), bounce.encode());
    assertTrue(bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("diagnosticCode").contains("552"),
        bounce.encode());
    assertEquals(0, small.commands().stream().filter(c -> c.startsWith("MAIL")).count(), small.commands().toString());
  }

  /** A host that refuses service in its greeting is skipped for the next one, as one that does not answer is. */
  @Test
  void aHostRefusingServiceInItsGreetingIsSkipped() throws IOException {
    RecordingSmtpServer busy = server("127.0.0.14").greeting("554 5.7.1 No SMTP service here");
    RecordingSmtpServer next = server("127.0.0.15");
    dns.mx("greeting.example", 10, "mx1.greeting.example").mx("greeting.example", 20, "mx2.greeting.example")
        .a("mx1.greeting.example", "127.0.0.14").a("mx2.greeting.example", "127.0.0.15");
    JsonObject status = awaitFinal(send("l@greeting.example", "greeting"));
    assertEquals(List.of("Send", "Delivery"), eventTypes(status));
    assertEquals(1, busy.connections());
    assertEquals(0, busy.received().size());
    assertEquals(1, next.received().size());
  }

  /** One attempt connects to five addresses at most (Postfix's smtp_mx_address_limit), however many the MX hosts have. */
  @Test
  void oneAttemptTriesFiveAddressesAtMost() throws IOException {
    List<RecordingSmtpServer> refusing = new ArrayList<>();
    for (int i = 40; i < 48; i++) {
      refusing.add(server("127.0.0." + i).greeting("554 5.7.1 No SMTP service here"));
    }
    dns.mx("many.example", 10, "mx1.many.example").mx("many.example", 20, "mx2.many.example")
        .a("mx1.many.example", "127.0.0.40", "127.0.0.41", "127.0.0.42", "127.0.0.43")
        .a("mx2.many.example", "127.0.0.44", "127.0.0.45", "127.0.0.46", "127.0.0.47");
    String id = send("m@many.example", "many");
    Await.until(() -> node.message(id), m -> eventTypes(m).contains("DeliveryDelay"), Duration.ofSeconds(15));
    assertEquals(SitePool.MAX_ADDRESSES_PER_ATTEMPT, refusing.stream().mapToInt(RecordingSmtpServer::connections)
        .sum(), "connections of the first attempt");
  }

  @Test
  void serverThatStallsAfterDataTimesOutAsASoftFailure() throws IOException {
    server("127.0.0.10").stallAfterData();
    dns.mx("stall.example", 10, "mx.stall.example").a("mx.stall.example", "127.0.0.10");
    String id = send("i@stall.example", "stalled");
    JsonObject delayed = Await.until(() -> node.message(id), m -> eventTypes(m).contains("DeliveryDelay"),
        Duration.ofSeconds(15));
    JsonObject delay = last(delayed, "DeliveryDelay").getJsonObject("deliveryDelay");
    assertEquals("TransientCommunicationFailure", delay.getString("delayType"));
    assertTrue(delay.getJsonArray("delayedRecipients").getJsonObject(0).getString("diagnosticCode").contains("timeout"),
        delay.encode());
  }

  /**
   * The reply to the final dot has its own timeout (4 s here), not the other replies' (1 s): a server that takes
   * 2.5 s to commit the message has taken it, and giving up on its reply would send it again.
   */
  @Test
  void aSlowReplyToTheFinalDotIsWaitedForPastTheCommandTimeout() throws IOException {
    RecordingSmtpServer slow = server("127.0.0.16").dataDelay(Duration.ofMillis(2_500));
    dns.mx("slowdot.example", 10, "mx.slowdot.example").a("mx.slowdot.example", "127.0.0.16");
    String id = send("s@slowdot.example", "slow final dot");
    JsonObject status = awaitFinal(id);
    assertEquals(List.of("Send", "Delivery"), eventTypes(status));
    assertEquals(1, status.getJsonArray("Recipients").getJsonObject(0).getInteger("Attempts"));
    assertEquals(1, slow.received().size());
  }

  @Test
  void throttlingReplyPausesTheSiteAndReducesItsConcurrency() throws IOException {
    AtomicInteger tries = new AtomicInteger();
    RecordingSmtpServer busy = server("127.0.0.11").onRcpt(r -> tries.incrementAndGet() == 1
        ? "421 4.7.0 Too many messages, slow down" : "250 2.1.5 Ok");
    dns.mx("busy.example", 10, "mx.busy.example").a("mx.busy.example", "127.0.0.11");
    String first = send("j@busy.example", "throttled-1");
    Await.until(() -> tries.get() >= 1, Duration.ofSeconds(10));
    JsonObject site = Await.until(DirectDeliveryTest::busySite, s -> s != null && s.containsKey("PausedUntil"),
        Duration.ofSeconds(5));
    assertEquals(0.5, site.getDouble("ThrottleFactor"));
    assertTrue(site.getString("LastThrottle").startsWith("421 4.7.0"), site.encode());
    long pausedAt = System.currentTimeMillis();
    List<String> more = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      more.add(send("k" + i + "@busy.example", "throttled-more"));
    }
    // nothing reaches the site while it is paused ...
    Await.until(() -> more.stream().allMatch(id -> node.message(id).getJsonArray("Recipients").getJsonObject(0)
        .getString("Status").equals("QUEUED")), Duration.ofSeconds(5));
    assertEquals(1, tries.get(), "no RCPT during the pause");
    // ... then everything is delivered, after the pause, and the first message too
    for (String id : more) {
      JsonObject done = awaitFinal(id);
      assertEquals("DELIVERED", done.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    }
    assertTrue(System.currentTimeMillis() - pausedAt >= 1500);
    assertEquals("DELIVERED", awaitFinal(first).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertEquals(4, busy.received().size());
  }

  private static JsonObject busySite() {
    return site("mx.busy.example");
  }

  /** The site of MX host {@code mx} in the class's node's sites status, or null. */
  private static JsonObject site(String mx) {
    JsonArray sites = new JsonObject(node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).body())
        .getJsonArray("Sites");
    for (Object o : sites) {
      JsonObject s = (JsonObject) o;
      if (s.getString("Site").contains(mx)) {
        return s;
      }
    }
    return null;
  }

  @Test
  void envelopeSenderIsAVerpAddressAndDsnParametersAreSent() throws IOException {
    RecordingSmtpServer dsn = server("127.0.0.12").extensions("PIPELINING\r\n250-DSN\r\n250 8BITMIME");
    dns.mx("dsn.example", 10, "mx.dsn.example").a("mx.dsn.example", "127.0.0.12");
    String id = send("l@dsn.example", "verp");
    awaitFinal(id);
    RecordingSmtpServer.Received got = dsn.received().get(0);
    String[] from = got.mailFrom().split("@");
    assertEquals("bounces.mailgate.test", from[1]);
    Verp verp = new Verp(SecretBox.fromBase64(TestNode.MASTER_KEY));
    assertEquals(new Verp.Target(id, 0), verp.parse(from[0]).orElseThrow());
    assertFalse(verp.parse(from[0].substring(0, 40) + "aaaaaaaa").isPresent(), "a forged token is refused");
    assertTrue(got.mailParams().contains("ENVID=" + id), got.mailParams());
    assertTrue(dsn.commands().stream().anyMatch(c -> c.startsWith("RCPT TO:<l@dsn.example>")
        && c.contains("NOTIFY=FAILURE,DELAY") && c.contains("ORCPT=rfc822;l@dsn.example")), dsn.commands().toString());
  }
}
