package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.feedback.InboundFeedbackTest;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.BatchGetMetricDataQuery;
import software.amazon.awssdk.services.sesv2.model.BatchGetMetricDataResponse;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.FeatureStatus;
import software.amazon.awssdk.services.sesv2.model.Metric;
import software.amazon.awssdk.services.sesv2.model.MetricDataResult;
import software.amazon.awssdk.services.sesv2.model.MetricDimensionName;
import software.amazon.awssdk.services.sesv2.model.MetricNamespace;

/**
 * The Virtual Deliverability Manager's metrics end to end: an account turns VDM on through the AWS SDK, sends through
 * the API to a relay that delivers some recipients and refuses one, a reader opens a tracked message (its pixel fetched
 * over HTTP) and clicks its link, and a Yahoo reader's complaint arrives as an ARF report over SMTP; the node's VDM
 * pass computes the day, and BatchGetMetricData answers each metric, narrowed by identity, configuration set and ISP.
 * Bad queries are 400s.
 */
class VdmMetricsTest {
  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;
  static TestNode node;
  static Accounts.NewKey key;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer()
        .onRcpt(r -> r.startsWith("nobody@") ? "550 5.1.1 <" + r + ">: Recipient address rejected: User unknown"
            : "250 2.1.5 Ok");
    webhook = new WebhookReceiver();
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.VDM_INTERVAL_SECONDS, 1)
        .with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.vdm.test")
        // an account's VDM attributes reach the send path through the key cache
        .with(MailgateConfig.CACHE_TTL_MILLIS, 100));
    key = node.createAccount("vdm-sender", true, 100, 10_000);
    ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    webhook.close();
  }

  static String send(String from, String set, String html, String... to) {
    String id = ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses(to))
        .configurationSetName(set)
        .content(c -> c.simple(m -> m.subject(s -> s.data("VDM")).body(b -> {
          if (html == null) {
            b.text(t -> t.data("x"));
          } else {
            b.html(h -> h.data(html));
          }
        })))).messageId();
    node.awaitOutcomes(id, to.length, key.accessKeyId(), key.secretAccessKey());
    return id;
  }

  static BatchGetMetricDataQuery query(String id, Metric metric, Map<MetricDimensionName, String> dimensions) {
    Instant now = Instant.now();
    return BatchGetMetricDataQuery.builder().id(id).namespace(MetricNamespace.VDM).metric(metric)
        .dimensions(dimensions.isEmpty() ? null : dimensions)
        .startDate(now.minus(Duration.ofDays(7))).endDate(now).build();
  }

  /**
   * Each query's values by its id, summed over its days: the node's messages are all of today, or of yesterday and
   * today when the test runs across midnight (UTC).
   */
  static Map<String, Long> values(BatchGetMetricDataQuery... queries) {
    BatchGetMetricDataResponse r = ses.batchGetMetricData(b -> b.queries(queries));
    assertEquals(List.of(), r.errors());
    Instant today = Instant.now().truncatedTo(ChronoUnit.DAYS);
    for (MetricDataResult result : r.results()) {
      assertEquals(result.timestamps().size(), result.values().size(), result.toString());
      Instant yesterday = today.minus(Duration.ofDays(1));
      assertTrue(result.timestamps().stream().allMatch(t -> t.equals(today) || t.equals(yesterday)),
          "a midnight, UTC: " + result);
    }
    return r.results().stream().collect(Collectors.toMap(MetricDataResult::id,
        result -> result.values().stream().mapToLong(Long::longValue).sum()));
  }

  @Test
  void theDaysMetricsByIdentityConfigurationSetAndIsp() throws Exception {
    // before VDM is on: refused, saying how to turn it on
    BadRequestException off = assertThrows(BadRequestException.class,
        () -> values(query("q", Metric.SEND, Map.of())));
    assertTrue(off.awsErrorDetails().errorMessage().contains("PutAccountVdmAttributes"), off.getMessage());

    ses.createConfigurationSet(r -> r.configurationSetName("tracked"));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName("tracked").eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.OPEN, EventType.CLICK)
            .snsDestination(s -> s.topicArn(webhook.url("/opens")))));
    String html = "<html><body><p><a href=\"https://shop.example/sale\">Sale</a></p></body></html>";
    String opened = send("news@vdm.example", "tracked", html, "reader@gmail.com");
    send("news@vdm.example", "tracked", html, "other@gmail.com");
    // no link: an open pixel, no click tracker
    send("news@vdm.example", "tracked", "<html><body><p>Sale</p></body></html>", "plain@gmail.com");
    send("alerts@vdm.example", null, null, "nobody@example.org");
    String complained = send("alerts@vdm.example", null, null, "fan@yahoo.com");
    // neither counts: the mailbox simulator, two recipients
    send("alerts@vdm.example", null, null, "success@simulator.amazonses.com");
    send("alerts@vdm.example", null, null, "a@example.org", "b@example.org");

    byte[] message = deliveredCopy(opened);
    String sentHtml = OpenAndClickTrackingTest.part(message, "text/html");
    List<String> pixels = OpenAndClickTrackingTest.tracked(sentHtml, "o");
    assertEquals(1, pixels.size());
    List<String> links = OpenAndClickTrackingTest.tracked(sentHtml, "c");
    assertEquals(1, links.size());
    assertEquals(302, OpenAndClickTrackingTest.get(links.get(0)).statusCode());
    for (int i = 0; i < 2; i++) { // opened twice: one unique open
      HttpResponse<byte[]> pixel = OpenAndClickTrackingTest.get(pixels.get(0));
      assertEquals(200, pixel.statusCode());
    }
    int inbound = node.config().get(MailgateConfig.SMTP_INBOUND_PORT);
    SmtpClient.send(inbound, "", List.of("fbl@bounces.vdm.test"),
        InboundFeedbackTest.arf("abuse", "fan@yahoo.com", "fan@yahoo.com", complained));
    String pg = node.config().get(MailgateConfig.PG_URL);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '"
        + complained + "'"), n -> n == 1, Duration.ofSeconds(20));
    Await.until(() -> Db.count(pg, "SELECT coalesce(sum(n), 0) FROM tracking_counts WHERE message_id = '" + opened
        + "'"), n -> n == 3, Duration.ofSeconds(20));

    ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
    Map<String, Metric> all = new HashMap<>();
    for (Metric m : List.of(Metric.SEND, Metric.DELIVERY, Metric.PERMANENT_BOUNCE, Metric.TRANSIENT_BOUNCE,
        Metric.COMPLAINT, Metric.OPEN, Metric.CLICK, Metric.DELIVERY_OPEN, Metric.DELIVERY_CLICK,
        Metric.DELIVERY_COMPLAINT)) {
      all.put(m.toString().toLowerCase(), m);
    }
    BatchGetMetricDataQuery[] everything = all.entrySet().stream()
        .map(e -> query(e.getKey(), e.getValue(), Map.of())).toArray(BatchGetMetricDataQuery[]::new);
    // the node's pass computes today (every second here) once VDM is on, with what came before it
    Map<String, Long> got = values(everything);
    for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        !(got.get("complaint") == 1 && got.get("open") == 1 && got.get("send") == 5)
            && System.nanoTime() < deadline; got = values(everything)) {
      Thread.sleep(300); // well within the 16 calls a second an account may make
    }
    Map<String, Long> expected = Map.of("send", 5L, "delivery", 4L, "permanent_bounce", 1L, "transient_bounce", 0L,
        "complaint", 1L, "open", 1L, "click", 1L, "delivery_open", 3L, "delivery_click", 2L, "delivery_complaint", 1L);
    assertEquals(expected, got);

    Map<String, Long> narrowed = values(
        query("gmail", Metric.DELIVERY, Map.of(MetricDimensionName.ISP, "Gmail")),
        query("yahoo-or-gmail", Metric.SEND, Map.of(MetricDimensionName.ISP, "Yahoo, Gmail")),
        query("alerts", Metric.SEND, Map.of(MetricDimensionName.EMAIL_IDENTITY, "alerts@vdm.example")),
        query("tracked", Metric.OPEN, Map.of(MetricDimensionName.CONFIGURATION_SET, "tracked",
            MetricDimensionName.EMAIL_IDENTITY, "*")),
        query("outlook", Metric.SEND, Map.of(MetricDimensionName.ISP, "Outlook")));
    assertEquals(Map.of("gmail", 3L, "yahoo-or-gmail", 4L, "alerts", 2L, "tracked", 1L, "outlook", 0L), narrowed);
    assertEquals(List.of(), ses.batchGetMetricData(b -> b.queries(query("outlook", Metric.SEND,
        Map.of(MetricDimensionName.ISP, "Outlook")))).results().get(0).timestamps(), "no day with an Outlook reader");

    // a span without the day: no value
    Instant lastWeek = Instant.now().minus(Duration.ofDays(8));
    MetricDataResult before = ses.batchGetMetricData(b -> b.queries(q -> q.id("before").namespace(MetricNamespace.VDM)
        .metric(Metric.SEND).startDate(lastWeek).endDate(lastWeek.plus(Duration.ofDays(1))))).results().get(0);
    assertEquals(List.of(), before.values());
    assertEquals(List.of(), before.timestamps());

    // another account sees none of it
    Accounts.NewKey other = node.createAccount("vdm-other", true, 100, 10_000);
    try (SesV2Client otherSes = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
      otherSes.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
      assertEquals(List.of(), otherSes.batchGetMetricData(b -> b.queries(query("q", Metric.SEND, Map.of())))
          .results().get(0).values());
    }
  }

  /**
   * VDM's engagement tracking: on for the account, its messages get an open pixel and tracked links without any
   * configuration set asking for them (a set's VdmOptions may turn it off), and their opens count as VDM's OPEN.
   */
  @Test
  void engagementTrackingGivesTheAccountsMessagesTrackers() throws Exception {
    Accounts.NewKey engaged = node.createAccount("vdm-engaged", true, 100, 10_000);
    try (SesV2Client s = node.sesV2(engaged.accessKeyId(), engaged.secretAccessKey())) {
      s.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)
          .dashboardAttributes(d -> d.engagementMetrics(FeatureStatus.ENABLED))));
      s.createConfigurationSet(r -> r.configurationSetName("quiet").vdmOptions(v -> v.dashboardOptions(d -> d
          .engagementMetrics(FeatureStatus.DISABLED))));
      Thread.sleep(300); // every HTTP instance's key cache has read the account again
      String html = "<html><body><p><a href=\"https://shop.example/new\">New</a></p></body></html>";
      String tracked = sendAs(s, engaged, null, html, "engaged@gmail.com");
      String quiet = sendAs(s, engaged, "quiet", html, "quiet@gmail.com");

      String sentHtml = OpenAndClickTrackingTest.part(deliveredCopy(tracked), "text/html");
      List<String> pixels = OpenAndClickTrackingTest.tracked(sentHtml, "o");
      assertEquals(1, pixels.size(), sentHtml);
      assertEquals(1, OpenAndClickTrackingTest.tracked(sentHtml, "c").size(), sentHtml);
      String quietHtml = OpenAndClickTrackingTest.part(deliveredCopy(quiet), "text/html");
      assertTrue(quietHtml.contains("href=\"https://shop.example/new\""), quietHtml);
      assertEquals(List.of(), OpenAndClickTrackingTest.tracked(quietHtml, "o"), "the set turned it off");

      assertEquals(200, OpenAndClickTrackingTest.get(pixels.get(0)).statusCode());
      Map<String, Long> got = Map.of();
      for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          !Long.valueOf(1).equals(got.get("open")) && System.nanoTime() < deadline; Thread.sleep(300)) {
        BatchGetMetricDataResponse r = s.batchGetMetricData(b -> b.queries(query("open", Metric.OPEN, Map.of()),
            query("delivery_open", Metric.DELIVERY_OPEN, Map.of()), query("delivery_click", Metric.DELIVERY_CLICK,
                Map.of()), query("delivery", Metric.DELIVERY, Map.of())));
        got = r.results().stream().collect(Collectors.toMap(MetricDataResult::id,
            result -> result.values().stream().mapToLong(Long::longValue).sum()));
      }
      assertEquals(Map.of("open", 1L, "delivery_open", 1L, "delivery_click", 1L, "delivery", 2L), got);
    }
  }

  static String sendAs(SesV2Client s, Accounts.NewKey key, String set, String html, String to) {
    String id = s.sendEmail(r -> r.fromEmailAddress("hello@engaged.example").destination(d -> d.toAddresses(to))
        .configurationSetName(set)
        .content(c -> c.simple(m -> m.subject(t -> t.data("New")).body(b -> b.html(h -> h.data(html)))))).messageId();
    node.awaitOutcomes(id, 1, key.accessKeyId(), key.secretAccessKey());
    return id;
  }

  static byte[] deliveredCopy(String id) {
    return relay.received().stream().filter(r -> r.text().contains("<" + id + "@")).findFirst().orElseThrow().data();
  }

  /** SES's 16 calls a second per account: beyond, a 429 (which the SDKs retry after a pause). */
  @Test
  void callsBeyondSixteenASecondAreThrottled() {
    Accounts.NewKey busy = node.createAccount("vdm-busy", true, 100, 10_000);
    try (SesV2Client busySes = node.sesV2(busy.accessKeyId(), busy.secretAccessKey())) {
      busySes.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
    }
    String body = "{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", "
        + "\"StartDate\": 1, \"EndDate\": " + Instant.now().getEpochSecond() + "}]}";
    List<Integer> statuses = IntStream.range(0, 40).mapToObj(i -> node.signed("POST", "/v2/email/metrics/batch",
        body, Map.of(), busy.accessKeyId(), busy.secretAccessKey())).map(HttpResponse::statusCode).toList();
    assertTrue(statuses.contains(429), statuses.toString());
    assertTrue(statuses.subList(0, 10).stream().allMatch(c -> c == 200), statuses.toString());
  }

  @Test
  void badQueriesAreRefusedNamingWhatIsWrong() {
    Accounts.NewKey checker = node.createAccount("vdm-checker", true, 100, 10_000);
    try (SesV2Client ses = node.sesV2(checker.accessKeyId(), checker.secretAccessKey())) {
      refused(ses, checker);
    }
  }

  private static void refused(SesV2Client ses, Accounts.NewKey key) {
    ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
    Instant now = Instant.now();
    Map<String, Consumer<BatchGetMetricDataQuery.Builder>> bad = new java.util.LinkedHashMap<>();
    bad.put("Namespace must be VDM", q -> q.namespace("CloudWatch"));
    bad.put("Metric must be one of", q -> q.metric("SENDS"));
    bad.put("StartDate is after its EndDate", q -> q.startDate(now).endDate(now.minusSeconds(1)));
    bad.put("not one of EMAIL_IDENTITY", q -> q.dimensionsWithStrings(Map.of("DOMAIN", "x")));
    bad.put("each other dimension has one value", q -> q.dimensions(Map.of(MetricDimensionName.ISP, "*",
        MetricDimensionName.EMAIL_IDENTITY, "a@x.example,b@x.example")));
    bad.put("at most 10", q -> q.dimensions(Map.of(MetricDimensionName.ISP,
        IntStream.range(0, 11).mapToObj(i -> "isp" + i).collect(Collectors.joining(",")))));
    bad.put("comma-separated list", q -> q.dimensions(Map.of(MetricDimensionName.ISP, "Gmail,,Yahoo")));
    bad.put("Id must have 1 to 255", q -> q.id("x".repeat(256)));
    bad.forEach((message, change) -> {
      BatchGetMetricDataQuery.Builder q = query("q", Metric.SEND, Map.of()).toBuilder();
      change.accept(q);
      BadRequestException e = assertThrows(BadRequestException.class,
          () -> ses.batchGetMetricData(b -> b.queries(q.build())), message);
      assertTrue(e.awsErrorDetails().errorMessage().contains(message), e.awsErrorDetails().errorMessage());
    });
    BadRequestException twice = assertThrows(BadRequestException.class, () -> ses.batchGetMetricData(b -> b
        .queries(query("same", Metric.SEND, Map.of()), query("same", Metric.OPEN, Map.of()))));
    assertTrue(twice.awsErrorDetails().errorMessage().contains("another query"), twice.getMessage());
    BadRequestException many = assertThrows(BadRequestException.class, () -> ses.batchGetMetricData(b -> b
        .queries(IntStream.range(0, 11).mapToObj(i -> query("q" + i, Metric.SEND, Map.of())).toList())));
    assertTrue(many.awsErrorDetails().errorMessage().contains("1 to 10"), many.getMessage());

    // what no SDK sends: missing fields, wrong types, a date no time can be
    for (String[] body : new String[][] {
        {"{}", "Missing required field Queries"},
        {"{\"Queries\": []}", "1 to 10"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": 1}]}",
            "Missing required field Queries[0].EndDate"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": 1e300, "
            + "\"EndDate\": 2}]}", "Invalid Queries[0].StartDate"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": -5, "
            + "\"EndDate\": 2}]}", "Invalid Queries[0].StartDate"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": 1, "
            + "\"EndDate\": 2, \"Dimensions\": {\"ISP\": 5}}]}", "expected a string"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": 1, "
            + "\"EndDate\": 2, \"Dimensions\": {}}]}", "1 to 3 entries"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": 1, "
            + "\"EndDate\": 2, \"Dimensions\": {\"ISP\": \"Gm\\u0000ail\"}}]}", "control character"},
        {"{\"Queries\": [{\"Id\": \"q\", \"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": 1, "
            + "\"EndDate\": 2}", "JSON"}}) {
      HttpResponse<String> r = node.signed("POST", "/v2/email/metrics/batch", body[0], Map.of(),
          key.accessKeyId(), key.secretAccessKey());
      assertEquals(400, r.statusCode(), body[0] + ": " + r.body());
      assertTrue(r.body().contains(body[1]), body[0] + ": " + r.body());
    }
    // an ISO-8601 time and epoch seconds as text are taken too
    HttpResponse<String> iso = node.signed("POST", "/v2/email/metrics/batch", "{\"Queries\": [{\"Id\": \"q\", "
        + "\"Namespace\": \"VDM\", \"Metric\": \"SEND\", \"StartDate\": \"2026-01-01T00:00:00Z\", "
        + "\"EndDate\": \"" + now.getEpochSecond() + ".5\"}]}", Map.of(), key.accessKeyId(), key.secretAccessKey());
    assertEquals(200, iso.statusCode(), iso.body());
    assertTrue(iso.body().contains("\"Errors\":[]"), iso.body());
  }
}
