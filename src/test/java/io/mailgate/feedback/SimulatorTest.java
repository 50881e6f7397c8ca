package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.TooManyRequestsException;

/** The mailbox simulator, from a sandboxed account: SES's answers, nothing leaves the machine. */
class SimulatorTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static Accounts.NewKey key;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c.with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.sim.test"));
    key = node.createAccount("simulated", false, 14, 50_000); // sandbox
    ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
    Verification.verifiedAddress(ses, relay, "tester@sim.example");
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  /** Sends one message, waiting out the sandbox's one per second. */
  static String send(String to) {
    return Await.until(() -> {
      try {
        return ses.sendEmail(r -> r.fromEmailAddress("tester@sim.example").destination(d -> d.toAddresses(to))
            .content(c -> c.simple(m -> m.subject(s -> s.data("simulated")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
      } catch (TooManyRequestsException e) {
        return null;
      }
    }, id -> id != null, Duration.ofSeconds(10));
  }

  static List<String> types(String id, int atLeast) {
    JsonObject m = Await.until(() -> node.message(id, key.accessKeyId(), key.secretAccessKey()),
        s -> s.getJsonArray("Events").size() >= atLeast, Duration.ofSeconds(20));
    List<String> out = new ArrayList<>();
    for (Object o : m.getJsonArray("Events")) {
      out.add(((JsonObject) o).getString("eventType"));
    }
    return out;
  }

  static JsonObject event(String id, String type) {
    for (Object o : node.message(id, key.accessKeyId(), key.secretAccessKey()).getJsonArray("Events")) {
      if (((JsonObject) o).getString("eventType").equals(type)) {
        return (JsonObject) o;
      }
    }
    return null;
  }

  @Test
  void everySimulatorMailboxAnswersAsSesDoes() {
    int before = relay.received().size();
    double quotaBefore = ses.getAccount(r -> { }).sendQuota().sentLast24Hours();

    String success = send("success@simulator.amazonses.com");
    assertEquals(List.of("Send", "Delivery"), types(success, 2));
    JsonObject d = event(success, "Delivery").getJsonObject("delivery");
    assertEquals(List.of("success@simulator.amazonses.com"), d.getJsonArray("recipients").getList());
    assertFalse(d.containsKey("remoteMtaIp"), "an address or nothing, never the simulator's name: " + d);

    String bounce = send("bounce+tag1@simulator.amazonses.com");
    assertEquals(List.of("Send", "Bounce"), types(bounce, 2));
    JsonObject b = event(bounce, "Bounce").getJsonObject("bounce");
    assertEquals("Permanent", b.getString("bounceType"));
    assertEquals("General", b.getString("bounceSubType"), "as SES's simulator notifications say");
    assertEquals("5.1.1", b.getJsonArray("bouncedRecipients").getJsonObject(0).getString("status"));
    assertFalse(b.containsKey("remoteMtaIp"), b.encode());
    org.junit.jupiter.api.Assertions.assertThrows(NotFoundException.class,
        () -> ses.getSuppressedDestination(r -> r.emailAddress("bounce+tag1@simulator.amazonses.com")),
        "the simulator's bounce does not suppress the address");

    String ooto = send("ooto@simulator.amazonses.com");
    assertEquals(List.of("Send", "Delivery"), types(ooto, 2));
    String pg = node.config().get(MailgateConfig.PG_URL);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE kind = 'AUTO_REPLY' AND attributed "
        + "AND message_id = '" + ooto + "'") == 1, Duration.ofSeconds(10));

    String complaint = send("complaint@simulator.amazonses.com");
    assertEquals(List.of("Send", "Delivery", "Complaint"), types(complaint, 3));
    JsonObject c = event(complaint, "Complaint").getJsonObject("complaint");
    assertEquals("abuse", c.getString("complaintFeedbackType"));
    assertTrue(c.getString("arrivalDate").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"),
        "ISO 8601, as SES writes it: " + c.getString("arrivalDate"));

    String suppressed = send("suppressionlist@simulator.amazonses.com");
    assertEquals(List.of("Send", "Bounce"), types(suppressed, 2));
    assertEquals("Suppressed", event(suppressed, "Bounce").getJsonObject("bounce").getString("bounceSubType"));

    // nothing went to the simulator; as in SES, its two bounces and its complaint come back to the sender by email
    List<RecordingSmtpServer.Received> forwarded = Await.until(
        () -> relay.received().stream().skip(before).toList(), l -> l.size() >= 3, Duration.ofSeconds(30));
    assertTrue(forwarded.stream().allMatch(r -> r.rcptTo().equals(List.of("tester@sim.example"))
        && r.mailFrom().isEmpty()), forwarded.toString());
    assertEquals(quotaBefore, ses.getAccount(r -> { }).sendQuota().sentLast24Hours(), "not counted in the daily quota");
    assertEquals(0, Db.count(pg, "SELECT coalesce(sum(sent + hard_bounces + complaints), 0) FROM reputation_buckets "
        + "WHERE account_id = '" + key.accountId() + "'"), "not counted for reputation");
    assertTrue(relay.received().stream().noneMatch(r -> r.rcptTo().get(0).contains("simulator")));
  }
}
