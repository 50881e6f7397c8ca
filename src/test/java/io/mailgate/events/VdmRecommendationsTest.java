package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.DkimStatus;
import software.amazon.awssdk.services.sesv2.model.ListRecommendationsFilterKey;
import software.amazon.awssdk.services.sesv2.model.ListRecommendationsRequest;
import software.amazon.awssdk.services.sesv2.model.ListRecommendationsResponse;
import software.amazon.awssdk.services.sesv2.model.Recommendation;

/**
 * The Virtual Deliverability Manager's recommendations end to end: an account verifies domains through DNS (a fake of
 * the internet's, answering as a real one), turns VDM on through the AWS SDK, and ListRecommendations answers what
 * the node's VDM pass found: a domain without its DKIM record, SPF or DMARC, DMARC p=none (a subdomain's by its
 * organizational domain's sp), high bounce and complaint rates; a record published later is found FIXED at the next
 * check, a deleted identity's recommendations are gone. Filters and pages as SES's model says; bad input is a 400.
 */
class VdmRecommendationsTest {
  static FakeDnsServer dns;
  static RecordingSmtpServer relay;
  static TestNode node;
  static Accounts.NewKey key;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DNS_MIN_TTL_SECONDS, 0)
        .with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 1)
        .with(MailgateConfig.VDM_INTERVAL_SECONDS, 1)
        // today's metrics only are computed from the messages (none): the days before stay as the test writes them
        .with(MailgateConfig.VDM_RECOMPUTE_DAYS, 1));
    key = node.createAccount("advised", true, 100, 10_000);
    ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    dns.close();
  }

  /** A domain identity verified by its DKIM record, found in DNS. */
  static void verified(String domain) {
    String selector = ses.createEmailIdentity(r -> r.emailIdentity(domain)).dkimAttributes().tokens().get(0);
    JsonObject raw = new JsonObject(node.signed("GET", "/v2/email/identities/" + domain, null, Map.of(),
        key.accessKeyId(), key.secretAccessKey()).body());
    dns.txt(selector + "._domainkey." + domain, raw.getJsonArray("DnsRecords").getJsonObject(0).getString("Value"));
    Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity(domain)).dkimAttributes().status()
        == DkimStatus.SUCCESS, Duration.ofSeconds(20));
  }

  static <T> T paced(Supplier<T> call) {
    return Await.paced(call);
  }

  static void sleep(long millis) {
    Await.sleep(millis);
  }

  static List<Recommendation> list(java.util.function.Consumer<ListRecommendationsRequest.Builder> request) {
    List<Recommendation> all = new ArrayList<>();
    String token = null;
    do {
      String next = token;
      ListRecommendationsResponse page = paced(() -> ses.listRecommendations(r -> {
        request.accept(r);
        r.nextToken(next);
      }));
      all.addAll(page.recommendations());
      token = page.nextToken();
    } while (token != null);
    return all;
  }

  /** Each recommendation as identity, type, impact and status. */
  static Set<String> shown(List<Recommendation> recommendations) {
    Set<String> out = new TreeSet<>();
    for (Recommendation r : recommendations) {
      out.add(r.resourceArn().substring(r.resourceArn().indexOf(":identity/") + 10) + " " + r.typeAsString() + " "
          + r.impactAsString() + " " + r.statusAsString());
    }
    return out;
  }

  static Recommendation one(String identity, String type) {
    return list(r -> r.filterWithStrings(Map.of("RESOURCE_ARN", arn(identity)))).stream()
        .filter(x -> x.typeAsString().equals(type)).findFirst().orElse(null);
  }

  static String arn(String identity) {
    return "arn:aws:ses:us-east-1:" + key.accountId() + ":identity/" + identity;
  }

  /** The next VDM pass checks the account again (as it would an hour after the last check). */
  static void checkAgain() {
    Db.execute(node.config().get(MailgateConfig.PG_URL),
        "UPDATE vdm_advised SET advised_at = advised_at - interval '2 hours'");
  }

  static int status(Accounts.NewKey as, String body) {
    return paced429(() -> node.signed("POST", "/v2/email/vdm/recommendations", body, Map.of(), as.accessKeyId(),
        as.secretAccessKey()));
  }

  static int paced429(Supplier<HttpResponse<String>> call) {
    for (int i = 0; ; i++) {
      HttpResponse<String> r = call.get();
      if (r.statusCode() != 429 || i == 20) {
        return r.statusCode();
      }
      sleep(250);
    }
  }

  @Test
  void whatTheAccountCouldFixAboutItsIdentities() {
    // VDM off: refused, saying how to turn it on
    BadRequestException off = assertThrows(BadRequestException.class,
        () -> paced(() -> ses.listRecommendations(r -> { })));
    assertTrue(off.awsErrorDetails().errorMessage().contains("PutAccountVdmAttributes"), off.getMessage());

    // all in order: DKIM, SPF, DMARC reject, BIMI; its mail bounces and draws complaints
    verified("good.example");
    dns.txt("good.example", "v=spf1 ip4:192.0.2.1 -all").txt("_dmarc.good.example", "v=DMARC1; p=reject")
        .txt("default._bimi.good.example", "v=BIMI1; l=https://good.example/logo.svg");
    // no SPF record, no DMARC policy
    verified("weak.example");
    dns.txt("weak.example", "google-site-verification=abc");
    // a subdomain under its organizational domain's DMARC record: sp=none
    verified("mail.org.example");
    dns.txt("mail.org.example", "v=spf1 -all").txt("_dmarc.org.example", "v=DMARC1; p=reject; sp=none");
    // verified by its SES v1 token, its DKIM record never published; two SPF records
    dns.txt("token.example", "v=spf1 -all").txt("token.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.token.example", "v=DMARC1; p=quarantine");
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      dns.txt("_amazonses.token.example", v1.verifyDomainIdentity(r -> r.domain("token.example"))
          .verificationToken());
    }
    Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity("token.example")).verifiedForSendingStatus(),
        Duration.ofSeconds(20));
    // not verified: nothing to advise on
    ses.createEmailIdentity(r -> r.emailIdentity("pending.example"));
    // the last two weeks' VDM sums of good.example: 6 % permanent bounces, 0.2 % complaints
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    String pg = node.config().get(MailgateConfig.PG_URL);
    Db.execute(pg, "INSERT INTO vdm_metrics VALUES ('" + key.accountId() + "', '" + today.minusDays(3)
        + "', 'good.example', '', 'Yahoo', 600, 560, 36, 0, 1, 0, 0, 0, 0, 560)");
    Db.execute(pg, "INSERT INTO vdm_metrics VALUES ('" + key.accountId() + "', '" + today.minusDays(13)
        + "', 'good.example', '', 'Outlook', 400, 376, 24, 0, 1, 0, 0, 0, 0, 440)");
    // long ago: not counted
    Db.execute(pg, "INSERT INTO vdm_metrics VALUES ('" + key.accountId() + "', '" + today.minusDays(30)
        + "', 'weak.example', '', 'Gmail', 1000, 0, 900, 0, 0, 0, 0, 0, 0, 0)");

    ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled("ENABLED")));
    Set<String> expected = new TreeSet<>(List.of(
        "good.example BOUNCE HIGH OPEN", "good.example COMPLAINT LOW OPEN",
        "weak.example SPF HIGH OPEN", "weak.example DMARC HIGH OPEN",
        "mail.org.example DMARC LOW OPEN",
        "token.example DKIM HIGH OPEN", "token.example SPF HIGH OPEN", "token.example BIMI LOW OPEN"));
    Set<String> all = Await.until(() -> shown(list(r -> { })), s -> !s.isEmpty(), Duration.ofSeconds(30));
    assertEquals(expected, all);
    Recommendation bounce = one("good.example", "BOUNCE");
    assertTrue(bounce.description().startsWith("5 % or more of the mail sent from good.example over the last 14 "
        + "days bounced permanently"), bounce.description());
    assertEquals(bounce.createdTimestamp(), bounce.lastUpdatedTimestamp());
    assertTrue(one("token.example", "SPF").description().contains("publishes 2 SPF records"));
    assertTrue(one("mail.org.example", "DMARC").description().contains("p=none"));

    // filters, and pages of one: the same recommendations
    assertEquals(Set.of("good.example COMPLAINT LOW OPEN", "mail.org.example DMARC LOW OPEN",
        "token.example BIMI LOW OPEN"),
        shown(list(r -> r.filter(Map.of(ListRecommendationsFilterKey.STATUS, "OPEN",
            ListRecommendationsFilterKey.IMPACT, "LOW")))));
    assertEquals(Set.of("weak.example DMARC HIGH OPEN", "mail.org.example DMARC LOW OPEN"),
        shown(list(r -> r.filter(Map.of(ListRecommendationsFilterKey.TYPE, "DMARC")))));
    assertEquals(Set.of(), shown(list(r -> r.filter(Map.of(ListRecommendationsFilterKey.STATUS, "FIXED")))));
    assertEquals(Set.of(), shown(list(r -> r.filterWithStrings(Map.of("RESOURCE_ARN",
        "arn:aws:ses:us-east-1:999999999999:identity/good.example")))), "another account's identity");
    List<Recommendation> paged = list(r -> r.pageSize(1));
    assertEquals(expected.size(), paged.size());
    assertEquals(expected, shown(paged));
    // a page's token is of its filter
    String token = paced(() -> ses.listRecommendations(r -> r.pageSize(1)
        .filter(Map.of(ListRecommendationsFilterKey.STATUS, "OPEN")))).nextToken();
    assertTrue(token != null);
    assertThrows(BadRequestException.class, () -> paced(() -> ses.listRecommendations(r -> r.nextToken(token)
        .filter(Map.of(ListRecommendationsFilterKey.TYPE, "DKIM")))));
    // a token of this list, its position altered: refused, not the list from its start
    String decoded = new String(java.util.Base64.getUrlDecoder().decode(token),
        java.nio.charset.StandardCharsets.UTF_8);
    String tampered = java.util.Base64.getUrlEncoder().encodeToString((decoded.substring(0, decoded.indexOf(':') + 1)
        + "good.example").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThrows(BadRequestException.class, () -> paced(() -> ses.listRecommendations(r -> r.nextToken(tampered)
        .filter(Map.of(ListRecommendationsFilterKey.STATUS, "OPEN")))));

    // token.example goes, and its recommendations with it
    ses.deleteEmailIdentity(r -> r.emailIdentity("token.example"));
    assertNull(one("token.example", "DKIM"), "a deleted identity's recommendations go with it");
    assertNull(one("token.example", "BIMI"));

    // weak.example publishes its SPF record; good.example's DMARC policy applies to half its failing mail: found
    // at the next check (BIMI, which asks for an enforced policy, withdrawn)
    dns.txt("weak.example", "v=spf1 include:_spf.weak.example ~all");
    dns.remove("_dmarc.good.example").txt("_dmarc.good.example", "v=DMARC1; p=reject; pct=50");
    Db.execute(pg, "INSERT INTO vdm_recommendations VALUES ('" + key.accountId() + "', 'good.example', 'BIMI', "
        + "'no BIMI record', 'LOW', 'OPEN', now(), now())");
    Recommendation dmarcBefore = one("weak.example", "DMARC");
    checkAgain();
    Await.until(() -> one("weak.example", "SPF").statusAsString(), s -> s.equals("FIXED"), Duration.ofSeconds(30));
    Recommendation fixed = one("weak.example", "SPF");
    assertTrue(fixed.lastUpdatedTimestamp().isAfter(fixed.createdTimestamp()), fixed.toString());
    assertEquals(dmarcBefore, one("weak.example", "DMARC"), "unchanged: not updated");
    assertEquals("LOW", one("good.example", "DMARC").impactAsString());
    assertTrue(one("good.example", "DMARC").description().contains("pct=50"));
    assertNull(one("good.example", "BIMI"), "withdrawn while DMARC is not enforced");
    assertEquals(Set.of("weak.example SPF HIGH FIXED"),
        shown(list(r -> r.filter(Map.of(ListRecommendationsFilterKey.STATUS, "FIXED")))));
  }

  @Test
  void badRequestsAreRefused() {
    Accounts.NewKey other = node.createAccount("advised-badly", true, 100, 10_000);
    try (SesV2Client client = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
      client.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled("ENABLED")));
    }
    assertEquals(200, status(other, "{}"));
    assertEquals(200, status(other, ""));
    for (String body : List.of(
        "{\"Filter\": {}}",
        "{\"Filter\": []}",
        "{\"Filter\": {\"TYPE\": \"DKIM\", \"IMPACT\": \"LOW\"}}",
        "{\"Filter\": {\"TYPE\": \"DKIM\", \"STATUS\": \"OPEN\", \"IMPACT\": \"LOW\"}}",
        "{\"Filter\": {\"RESOURCE_ARN\": \"x\", \"STATUS\": \"OPEN\"}}",
        "{\"Filter\": {\"COLOUR\": \"red\"}}",
        "{\"Filter\": {\"TYPE\": \"DKIM2\"}}",
        "{\"Filter\": {\"STATUS\": \"open\"}}",
        "{\"Filter\": {\"STATUS\": 1}}",
        "{\"Filter\": {\"RESOURCE_ARN\": \"\"}}",
        "{\"Filter\": {\"RESOURCE_ARN\": \"arn:aws:ses:eu-west-1:123456789012:identity/a.example\"}}",
        "{\"Filter\": {\"RESOURCE_ARN\": \"arn:aws:ses:us-east-1:123456789012:identity/a.ex\\r\\nample\"}}",
        "{\"PageSize\": 101}",
        "{\"PageSize\": 0}",
        "{\"NextToken\": \"bm90IGEgdG9rZW4=\"}",
        "{\"Filter\": ")) {
      assertEquals(400, status(other, body), body);
    }
  }
}
