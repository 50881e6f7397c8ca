package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.ChecksumMode;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.CreateExportJobRequest;
import software.amazon.awssdk.services.sesv2.model.DataFormat;
import software.amazon.awssdk.services.sesv2.model.ExportJobSummary;
import software.amazon.awssdk.services.sesv2.model.ExportSourceType;
import software.amazon.awssdk.services.sesv2.model.FeatureStatus;
import software.amazon.awssdk.services.sesv2.model.GetExportJobResponse;
import software.amazon.awssdk.services.sesv2.model.JobStatus;
import software.amazon.awssdk.services.sesv2.model.LimitExceededException;
import software.amazon.awssdk.services.sesv2.model.ListExportJobsResponse;
import software.amazon.awssdk.services.sesv2.model.Metric;
import software.amazon.awssdk.services.sesv2.model.MetricAggregation;
import software.amazon.awssdk.services.sesv2.model.MetricDimensionName;
import software.amazon.awssdk.services.sesv2.model.MetricNamespace;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/**
 * SES v2 export jobs end to end through the AWS SDK: an account sends through the API to a relay that delivers some
 * recipients and refuses one, turns VDM on, and exports its metrics (by identity, by provider, as CSV and as JSON) and
 * its messages' insights (filtered as SES filters them) to objects of its S3 namespace, read back with the SDK's S3
 * client; lists its jobs by page, source and status; cancels one; is refused past its jobs waiting or running, and
 * for every bad request, without a job made.
 */
class ExportJobsTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static Accounts.NewKey key;
  static SesV2Client ses;
  static S3Client s3;
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer()
        .onRcpt(r -> r.startsWith("nobody@") ? "550 5.1.1 <" + r + ">: Recipient address rejected: User unknown"
            : "250 2.1.5 Ok");
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.VDM_INTERVAL_SECONDS, 1)
        .with(MailgateConfig.CACHE_TTL_MILLIS, 100));
    pg = node.config().get(MailgateConfig.PG_URL);
    key = node.createAccount("export-sender", true, 100, 10_000);
    ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
    s3 = node.s3(key.accessKeyId(), key.secretAccessKey(), 1);
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    s3.close();
    node.close();
    relay.close();
  }

  static String send(SesV2Client as, Accounts.NewKey k, String from, String subject, String to) {
    String id = as.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject)).body(b -> b.text(t -> t.data("x")))))).messageId();
    node.awaitOutcomes(id, 1, k.accessKeyId(), k.secretAccessKey());
    return id;
  }

  static String create(SesV2Client as, Consumer<CreateExportJobRequest.Builder> request) {
    return Await.paced(() -> as.createExportJob(request).jobId()); // one call a second per account
  }

  static GetExportJobResponse ended(SesV2Client as, String jobId) {
    return Await.until(() -> as.getExportJob(r -> r.jobId(jobId)),
        j -> j.jobStatus() == JobStatus.COMPLETED || j.jobStatus() == JobStatus.FAILED, Duration.ofSeconds(30));
  }

  /** The file a completed job's presigned link fetches, by anyone holding it (no credentials of one's own). */
  static String object(String url) throws Exception {
    assertTrue(url.startsWith(node.endpoint() + "/s3/") && url.contains("&X-Amz-Signature="), url);
    HttpResponse<String> got = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, got.statusCode(), got.body());
    return got.body();
  }

  static final HttpClient HTTP = HttpClient.newHttpClient();

  /** The file's lines, each line's leading date (the messages' day, today or yesterday at midnight UTC) as DAY. */
  static List<String> lines(String file, String separator) {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    Set<String> days = Set.of(today.toString(), today.minusDays(1).toString());
    List<String> out = new ArrayList<>();
    for (String line : file.split(separator, -1)) {
      for (String day : days) {
        line = line.replace(day, "DAY");
      }
      out.add(line);
    }
    return out;
  }

  @Test
  void metricsAndInsightsExportedToObjectsOfTheAccountsS3Namespace() throws Exception {
    // the messages and their exports on one UTC day: the metrics are by day
    Instant now = Instant.now();
    Duration toMidnight = Duration.between(now, LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC));
    if (toMidnight.compareTo(Duration.ofMinutes(2)) < 0) {
      Thread.sleep(toMidnight.toMillis() + 5_000);
    }
    String receipt = send(ses, key, "news@export.example", "Receipt 1", "reader@gmail.com");
    send(ses, key, "news@export.example", "Receipt 2", "nobody@example.org");
    String alert = send(ses, key, "alerts@export.example", "Alert *urgent*, \"now\"", "fan@yahoo.com");
    Accounts.NewKey otherKey = node.createAccount("export-other", true, 100, 10_000);
    SesV2Client other = node.sesV2(otherKey.accessKeyId(), otherKey.secretAccessKey());
    String others = send(other, otherKey, "news@other.example", "Receipt 1", "reader@gmail.com");

    // metrics need VDM on; once it is, the node's pass computes the day
    assertThrows(BadRequestException.class, () -> create(ses, r -> metrics(r, DataFormat.CSV, null)));
    ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
    Await.until(() -> Db.count(pg, "SELECT coalesce(sum(send), 0) FROM vdm_metrics WHERE account_id = '"
        + key.accountId() + "'"), n -> n == 3, Duration.ofSeconds(30));

    String byIdentity = create(ses, r -> metrics(r, DataFormat.CSV, "s3://reports/vdm/"));
    GetExportJobResponse job = ended(ses, byIdentity);
    assertEquals(JobStatus.COMPLETED, job.jobStatus(), job.toString());
    assertEquals(ExportSourceType.METRICS_DATA, job.exportSourceType());
    assertTrue(job.exportDestination().s3Url().startsWith(node.endpoint() + "/s3/reports/vdm/" + byIdentity
        + ".csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + key.accessKeyId() + "%2F"),
        job.exportDestination().s3Url());
    assertEquals(DataFormat.CSV, job.exportDestination().dataFormat());
    assertEquals(List.of(2, 2), List.of(job.statistics().processedRecordsCount(),
        job.statistics().exportedRecordsCount()));
    assertTrue(!job.completedTimestamp().isBefore(job.createdTimestamp()), job.toString());
    assertEquals(List.of("alerts@export.example", "news@export.example"),
        job.exportDataSource().metricsDataSource().dimensions().get(MetricDimensionName.EMAIL_IDENTITY).stream()
            .sorted().toList(), "the data source as asked");
    assertEquals(List.of("Date,EMAIL_IDENTITY,SEND_VOLUME,DELIVERY_RATE,PERMANENT_BOUNCE_VOLUME",
            "DAY,alerts@export.example,1,1,0", "DAY,news@export.example,2,0.5,1", ""),
        lines(object(job.exportDestination().s3Url()), "\r\n"));
    // the same object through the S3 API with the account's keys; a link altered is refused
    assertEquals(object(job.exportDestination().s3Url()), s3.getObjectAsBytes(r -> r.bucket("reports")
        .key("vdm/" + byIdentity + ".csv")).asString(StandardCharsets.UTF_8));
    String altered = job.exportDestination().s3Url().replace(".csv?", ".json?");
    assertEquals(403, HTTP.send(HttpRequest.newBuilder(URI.create(altered)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());

    // by provider as JSON Lines: a rate with nothing to divide by (no tracked delivery) is left out
    String byIsp = create(ses, r -> r.exportDestination(d -> d.dataFormat(DataFormat.JSON))
        .exportDataSource(s -> s.metricsDataSource(m -> m.namespace(MetricNamespace.VDM)
            .dimensions(Map.of(MetricDimensionName.ISP, List.of("Gmail", "Yahoo", "Outlook")))
            .metrics(e -> e.name(Metric.SEND).aggregation(MetricAggregation.VOLUME),
                e -> e.name(Metric.OPEN).aggregation(MetricAggregation.RATE))
            .startDate(Instant.now().minus(Duration.ofDays(2))).endDate(Instant.now()))));
    job = ended(ses, byIsp);
    assertTrue(job.exportDestination().s3Url().startsWith(node.endpoint() + "/s3/mailgate-exports/" + byIsp
        + ".json?"), job.exportDestination().s3Url());
    assertEquals(List.of("{\"Date\":\"DAY\",\"ISP\":\"Gmail\",\"SEND_VOLUME\":1}",
        "{\"Date\":\"DAY\",\"ISP\":\"Yahoo\",\"SEND_VOLUME\":1}", ""), lines(object(job.exportDestination().s3Url()),
        "\n"));

    // insights: the news messages but the bounced one, as JSON; the others' message is not the account's
    String news = create(ses, r -> r.exportDestination(d -> d.dataFormat(DataFormat.JSON))
        .exportDataSource(s -> s.messageInsightsDataSource(m -> m
            .startDate(Instant.now().minus(Duration.ofHours(1))).endDate(Instant.now())
            .include(f -> f.fromEmailAddress("news@*"))
            .exclude(f -> f.lastDeliveryEventWithStrings("PERMANENT_BOUNCE")))));
    job = ended(ses, news);
    assertEquals(JobStatus.COMPLETED, job.jobStatus(), job.toString());
    assertEquals(ExportSourceType.MESSAGE_INSIGHTS, job.exportSourceType());
    assertEquals(List.of(3, 1), List.of(job.statistics().processedRecordsCount(),
        job.statistics().exportedRecordsCount()));
    String[] records = object(job.exportDestination().s3Url()).split("\n");
    assertEquals(1, records.length);
    JsonObject record = new JsonObject(records[0]);
    assertEquals(receipt, record.getString("MessageId"));
    assertEquals(List.of("news@export.example", "Receipt 1", "reader@gmail.com", "Gmail", "DELIVERY"),
        Arrays.asList(record.getString("FromEmailAddress"), record.getString("Subject"),
            record.getString("Destination"), record.getString("Isp"), record.getString("LastDeliveryEvent")));
    assertNull(record.getString("LastEngagementEvent"));
    assertEquals(List.of("SEND", "DELIVERY"), record.getJsonArray("Events").stream()
        .map(e -> ((JsonObject) e).getString("Type")).toList());
    assertTrue(record.getJsonArray("EmailTags").encode().contains("ses:from-domain"), record.encode());

    // an object at the file's key, completed from an upload with metadata and a checksum: the file replaces all of it
    String upload = s3.createMultipartUpload(r -> r.bucket("reports").key("alerts.csv").contentType("text/csv")
        .metadata(Map.of("owner", "ops")).checksumAlgorithm(ChecksumAlgorithm.CRC32)).uploadId();
    String part = s3.uploadPart(r -> r.bucket("reports").key("alerts.csv").uploadId(upload).partNumber(1)
        .checksumAlgorithm(ChecksumAlgorithm.CRC32), RequestBody.fromString("old,file")).eTag();
    s3.completeMultipartUpload(r -> r.bucket("reports").key("alerts.csv").uploadId(upload).multipartUpload(m -> m
        .parts(p -> p.partNumber(1).eTag(part))));
    assertEquals(List.of("text/csv", 1), List.of(s3.headObject(r -> r.bucket("reports").key("alerts.csv"))
        .contentType(), s3.headObject(r -> r.bucket("reports").key("alerts.csv").partNumber(1)).partsCount()));

    // the alert by its subject, its stars escaped, as CSV: the fields with a comma or a quote quoted
    String alerts = create(ses, r -> r
        .exportDestination(d -> d.dataFormat(DataFormat.CSV).s3Url("s3://reports/alerts.csv"))
        .exportDataSource(s -> s.messageInsightsDataSource(m -> m
            .startDate(Instant.now().minus(Duration.ofHours(1))).endDate(Instant.now())
            .include(f -> f.subject("Alert \\*urgent\\**").isp("Yahoo")))));
    job = ended(ses, alerts);
    String csv = object(job.exportDestination().s3Url());
    String[] rows = csv.split("\r\n");
    assertEquals("MessageId,SendTimestamp,FromEmailAddress,Subject,Destination,Isp,LastDeliveryEvent,"
        + "LastEngagementEvent,EmailTags,Events", rows[0]);
    assertEquals(2, rows.length, csv);
    assertTrue(rows[1].startsWith(alert + ","), rows[1]);
    assertTrue(rows[1].contains(",alerts@export.example,\"Alert *urgent*, \"\"now\"\"\",fan@yahoo.com,Yahoo,"
        + "DELIVERY,,\"["), rows[1]);
    HeadObjectResponse file = s3.headObject(r -> r.bucket("reports").key("alerts.csv")
        .checksumMode(ChecksumMode.ENABLED));
    assertEquals(List.of("application/octet-stream", Map.of()), List.of(file.contentType(), file.metadata()));
    assertNull(file.checksumCRC32(), "the object replaced's checksum");
    assertNull(s3.headObject(r -> r.bucket("reports").key("alerts.csv").partNumber(1)).partsCount(), "one part");
    assertEquals("\"" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5")
        .digest(csv.getBytes(StandardCharsets.UTF_8))) + "\"", file.eTag(), "the file's MD5, not of parts");

    // the other account's export holds its message only
    other.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
    String theirs = create(other, r -> r.exportDestination(d -> d.dataFormat(DataFormat.JSON))
        .exportDataSource(s -> s.messageInsightsDataSource(m -> m
            .startDate(Instant.now().minus(Duration.ofHours(1))).endDate(Instant.now()))));
    GetExportJobResponse theirJob = ended(other, theirs);
    assertEquals(List.of(1, 1), List.of(theirJob.statistics().processedRecordsCount(),
        theirJob.statistics().exportedRecordsCount()));
    try (S3Client theirS3 = node.s3(otherKey.accessKeyId(), otherKey.secretAccessKey(), 1)) {
      assertEquals(others, new JsonObject(theirS3.getObjectAsBytes(r -> r.bucket("mailgate-exports")
          .key(theirs + ".json")).asUtf8String().strip()).getString("MessageId"));
    }
    assertThrows(software.amazon.awssdk.services.s3.model.NoSuchKeyException.class, () -> s3.getObjectAsBytes(r -> r
        .bucket("mailgate-exports").key(theirs + ".json")), "another account's file");
    assertThrows(NotFoundException.class, () -> ses.getExportJob(r -> r.jobId(theirs)), "another account's job");
    other.close();

    // the account's jobs, newest first, by page, source and status
    ListExportJobsResponse first = ses.listExportJobs(r -> r.pageSize(3));
    assertEquals(List.of(alerts, news, byIsp), first.exportJobs().stream().map(ExportJobSummary::jobId).toList());
    ListExportJobsResponse second = ses.listExportJobs(r -> r.pageSize(3).nextToken(first.nextToken()));
    assertEquals(List.of(byIdentity), second.exportJobs().stream().map(ExportJobSummary::jobId).toList());
    assertNull(second.nextToken());
    assertEquals(List.of(byIsp, byIdentity), ses.listExportJobs(r -> r.exportSourceType(ExportSourceType.METRICS_DATA))
        .exportJobs().stream().map(ExportJobSummary::jobId).toList());
    assertEquals(4, ses.listExportJobs(r -> r.jobStatus(JobStatus.COMPLETED)).exportJobs().size());
    assertEquals(List.of(), ses.listExportJobs(r -> r.jobStatus(JobStatus.CANCELLED)).exportJobs());
    ExportJobSummary summary = first.exportJobs().get(0);
    assertEquals(List.of(JobStatus.COMPLETED, ExportSourceType.MESSAGE_INSIGHTS),
        List.of(summary.jobStatus(), summary.exportSourceType()));
    assertThrows(BadRequestException.class, () -> ses.listExportJobs(r -> r.jobStatus(JobStatus.CANCELLED)
        .nextToken(first.nextToken())), "a token of another listing");
  }

  static void metrics(CreateExportJobRequest.Builder r, DataFormat format, String url) {
    r.exportDestination(d -> d.dataFormat(format).s3Url(url))
        .exportDataSource(s -> s.metricsDataSource(m -> m.namespace(MetricNamespace.VDM)
            .dimensions(Map.of(MetricDimensionName.EMAIL_IDENTITY, List.of("news@export.example",
                "alerts@export.example")))
            .metrics(e -> e.name(Metric.SEND).aggregation(MetricAggregation.VOLUME),
                e -> e.name(Metric.DELIVERY).aggregation(MetricAggregation.RATE),
                e -> e.name(Metric.PERMANENT_BOUNCE).aggregation(MetricAggregation.VOLUME))
            .startDate(Instant.now().minus(Duration.ofDays(2))).endDate(Instant.now())));
  }

  @Test
  void cancelledJobsLimitsAndBadRequestsMakeNoJob() {
    Accounts.NewKey k = node.createAccount("export-limits", true, 100, 10_000);
    try (SesV2Client as = node.sesV2(k.accessKeyId(), k.secretAccessKey())) {
      // ten jobs another node is running (its lease far off): the eleventh is refused
      for (int i = 0; i < 10; i++) {
        Db.execute(pg, "INSERT INTO export_jobs (account_id, job_id, source_type, data_source, data_format, bucket, "
            + "object_key, status, created_at, lease_owner, lease_until) VALUES ('" + k.accountId() + "', "
            + "'00000000-0000-4000-8000-00000000000" + i + "', 'MESSAGE_INSIGHTS', '{}', 'CSV', 'b', 'k', "
            + "'PROCESSING', now(), 'elsewhere', now() + interval '1 hour')");
      }
      Consumer<CreateExportJobRequest.Builder> insights = r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV))
          .exportDataSource(s -> s.messageInsightsDataSource(m -> m.startDate(Instant.now().minusSeconds(60))
              .endDate(Instant.now()).maxResults(1)));
      assertThrows(LimitExceededException.class, () -> create(as, insights));
      assertEquals(10, jobs(k));

      String held = "00000000-0000-4000-8000-000000000003";
      as.cancelExportJob(r -> r.jobId(held));
      GetExportJobResponse cancelled = as.getExportJob(r -> r.jobId(held));
      assertEquals(JobStatus.CANCELLED, cancelled.jobStatus());
      assertTrue(cancelled.completedTimestamp() != null, cancelled.toString());
      assertThrows(BadRequestException.class, () -> as.cancelExportJob(r -> r.jobId(held)), "cancelled already");
      assertThrows(NotFoundException.class, () -> as.cancelExportJob(r -> r.jobId(
          "00000000-0000-4000-8000-0000000000ff")));
      assertThrows(NotFoundException.class, () -> as.getExportJob(r -> r.jobId("no-such-job")));
      String made = create(as, insights); // nine running now
      assertEquals(JobStatus.COMPLETED, ended(as, made).jobStatus());
      assertEquals(11, jobs(k));

      List<Consumer<CreateExportJobRequest.Builder>> bad = List.of(
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)),
          r -> r.exportDataSource(s -> s.messageInsightsDataSource(m -> m.startDate(Instant.now())
              .endDate(Instant.now()))),
          r -> r.exportDestination(d -> d.dataFormat("XML")).exportDataSource(s -> s.messageInsightsDataSource(m -> m
              .startDate(Instant.now()).endDate(Instant.now()))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV).s3Url("https://reports/x"))
              .exportDataSource(s -> s.messageInsightsDataSource(m -> m.startDate(Instant.now())
                  .endDate(Instant.now()))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV).s3Url("s3://Bad_Bucket/x"))
              .exportDataSource(s -> s.messageInsightsDataSource(m -> m.startDate(Instant.now())
                  .endDate(Instant.now()))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)).exportDataSource(s -> s.messageInsightsDataSource(
              m -> m.startDate(Instant.now()).endDate(Instant.now().minusSeconds(60)))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)).exportDataSource(s -> s.messageInsightsDataSource(
              m -> m.startDate(Instant.now()).endDate(Instant.now()).maxResults(10_001))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)).exportDataSource(s -> s.messageInsightsDataSource(
              m -> m.startDate(Instant.now()).endDate(Instant.now())
                  .include(f -> f.lastDeliveryEventWithStrings("OPENED")))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)).exportDataSource(s -> s.messageInsightsDataSource(
              m -> m.startDate(Instant.now()).endDate(Instant.now()).include(f -> f.subject("half*way")))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)).exportDataSource(s -> s.messageInsightsDataSource(
              m -> m.startDate(Instant.now()).endDate(Instant.now()).exclude(f -> f.destination("a", "b", "c", "d", "e",
                  "f")))),
          r -> r.exportDestination(d -> d.dataFormat(DataFormat.CSV)).exportDataSource(s -> s.metricsDataSource(m -> m
              .namespace(MetricNamespace.VDM).dimensions(Map.of(MetricDimensionName.ISP, List.of("Gmail")))
              .metrics(e -> e.name(Metric.SEND)).startDate(Instant.now()).endDate(Instant.now()))));
      for (Consumer<CreateExportJobRequest.Builder> request : bad) {
        assertThrows(BadRequestException.class, () -> as.createExportJob(request)); // VDM is off, last
      }
      as.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
      for (String source : List.of(
          "{\"Namespace\":\"CLOUDWATCH\",\"Dimensions\":{\"ISP\":[\"Gmail\"]},\"Metrics\":[{\"Name\":\"SEND\"}],"
              + "\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"DOMAIN\":[\"x\"]},\"Metrics\":[{\"Name\":\"SEND\"}],"
              + "\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"ISP\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
              + "\"k\"]},\"Metrics\":[{\"Name\":\"SEND\"}],\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"ISP\":[\"Gmail\"]},\"Metrics\":[],\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"ISP\":[\"Gmail\"]},\"Metrics\":[{\"Name\":\"SENT\"}],"
              + "\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"ISP\":[\"Gmail\"]},\"Metrics\":[{\"Name\":\"SEND\","
              + "\"Aggregation\":\"SUM\"}],\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"ISP\":[\"Gmail\"]},\"Metrics\":[{\"Name\":\"SEND\"},"
              + "{\"Name\":\"SEND\",\"Aggregation\":\"VOLUME\"}],\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Dimensions\":{\"ISP\":[\"G\\u0000\"]},\"Metrics\":[{\"Name\":\"SEND\"}],"
              + "\"StartDate\":1,\"EndDate\":2}",
          "{\"Namespace\":\"VDM\",\"Metrics\":[{\"Name\":\"SEND\"}],\"StartDate\":1,\"EndDate\":2}")) {
        HttpResponse<String> answer = node.signed("POST", "/v2/email/export-jobs", "{\"ExportDataSource\":"
            + "{\"MetricsDataSource\":" + source + "},\"ExportDestination\":{\"DataFormat\":\"CSV\"}}", Map.of(),
            k.accessKeyId(), k.secretAccessKey());
        assertEquals(400, answer.statusCode(), source + " -> " + answer.body());
        assertEquals("BadRequestException", answer.headers().firstValue("x-amzn-ErrorType").orElse(""),
            answer.body());
      }
      HttpResponse<String> malformed = node.signed("POST", "/v2/email/export-jobs", "{\"ExportDataSource\":",
          Map.of(), k.accessKeyId(), k.secretAccessKey());
      assertEquals(400, malformed.statusCode(), malformed.body());
      String insightsSource = "{\"ExportDataSource\":{\"MessageInsightsDataSource\":{\"StartDate\":1,\"EndDate\":2,"
          + "\"Include\":{\"Subject\":[\"S\\u0000\"]}}},\"ExportDestination\":{\"DataFormat\":\"CSV\"}}";
      long started = System.nanoTime();
      for (String body : List.of(insightsSource, // a NUL, which PostgreSQL would refuse to keep
          "{\"ExportDataSource\":{\"MessageInsightsDataSource\":{\"StartDate\":1,\"EndDate\":2}},"
              + "\"ExportDestination\":{\"DataFormat\":\"CSV\",\"S3Url\":\"s3://b/a" + "/".repeat(50_000) + "\"}}",
          "{\"ExportDataSource\":{\"MessageInsightsDataSource\":{\"StartDate\":1,\"EndDate\":2}},"
              + "\"ExportDestination\":{\"DataFormat\":\"CSV\",\"S3Url\":\"s3://b/a//\"}}")) {
        HttpResponse<String> answer = node.signed("POST", "/v2/email/export-jobs", body, Map.of(), k.accessKeyId(),
            k.secretAccessKey());
        assertEquals(400, answer.statusCode(), answer.body());
      }
      assertTrue(System.nanoTime() - started < Duration.ofSeconds(10).toNanos(), "a long URL is refused at once");
      // tokens made up to look like ours (the tag is no secret): a 400, not a database error
      String tag = String.format("%08x:", "POST /v2/email/list-export-jobs\nnull\nnull".hashCode());
      for (String position : List.of(Instant.now() + "\nx\u0000", "+1000000000-01-01T00:00:00Z\n"
          + "00000000-0000-4000-8000-000000000001")) {
        String forged = io.mailgate.api.Paging.token(tag + position);
        assertThrows(BadRequestException.class, () -> as.listExportJobs(r -> r.nextToken(forged)), position);
      }
      assertEquals(11, jobs(k), "no job made by a bad request");
    }
  }

  static long jobs(Accounts.NewKey k) {
    return Db.count(pg, "SELECT count(*) FROM export_jobs WHERE account_id = '" + k.accountId() + "'");
  }
}
