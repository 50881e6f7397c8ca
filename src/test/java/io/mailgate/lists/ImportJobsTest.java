package io.mailgate.lists;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.ContactListImportAction;
import software.amazon.awssdk.services.sesv2.model.CreateImportJobRequest;
import software.amazon.awssdk.services.sesv2.model.DataFormat;
import software.amazon.awssdk.services.sesv2.model.GetContactResponse;
import software.amazon.awssdk.services.sesv2.model.GetImportJobResponse;
import software.amazon.awssdk.services.sesv2.model.ImportDestinationType;
import software.amazon.awssdk.services.sesv2.model.ImportJobSummary;
import software.amazon.awssdk.services.sesv2.model.JobStatus;
import software.amazon.awssdk.services.sesv2.model.ListImportJobsResponse;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.SubscriptionStatus;
import software.amazon.awssdk.services.sesv2.model.SuppressionListImportAction;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;
import software.amazon.awssdk.services.sesv2.model.Topic;

/**
 * SES v2 import jobs end to end through the AWS SDK: files put in the account's S3 namespace through the S3 endpoint
 * with the SDK's S3 client, imported into the suppression list and into a contact list (PUT and DELETE, CSV and JSON
 * Lines), records that fail alone and the file that lists them (fetched by GetImportJob's link), files that fail
 * whole, listing by page and destination, and every bad request refused without a job made.
 */
class ImportJobsTest {
  static TestNode node;
  static Accounts.NewKey key;
  static SesV2Client ses;
  static S3Client s3;
  static String pg;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    node = TestNode.start("");
    pg = node.config().get(MailgateConfig.PG_URL);
    key = node.createAccount("importer", true, 100, 10_000);
    ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
    s3 = node.s3(key.accessKeyId(), key.secretAccessKey(), 1);
    ses.createContactList(r -> r.contactListName("news").topics(
        Topic.builder().topicName("sports").displayName("Sports").defaultSubscriptionStatus(SubscriptionStatus.OPT_IN)
            .build(),
        Topic.builder().topicName("offers").displayName("Offers")
            .defaultSubscriptionStatus(SubscriptionStatus.OPT_OUT).build()));
  }

  @AfterAll
  static void stop() {
    ses.close();
    s3.close();
    node.close();
  }

  static String upload(String bucket, String key, String content) {
    s3.putObject(r -> r.bucket(bucket).key(key), RequestBody.fromString(content, StandardCharsets.UTF_8));
    return "s3://" + bucket + "/" + key;
  }

  static String create(SesV2Client as, Consumer<CreateImportJobRequest.Builder> request) {
    return Await.paced(() -> as.createImportJob(request).jobId()); // one call a second per account
  }

  static String suppression(SuppressionListImportAction action, String url, DataFormat format) {
    return create(ses, r -> r.importDestination(d -> d.suppressionListDestination(s -> s
        .suppressionListImportAction(action))).importDataSource(s -> s.s3Url(url).dataFormat(format)));
  }

  static String contacts(ContactListImportAction action, String url, DataFormat format) {
    return create(ses, r -> r.importDestination(d -> d.contactListDestination(s -> s.contactListName("news")
        .contactListImportAction(action))).importDataSource(s -> s.s3Url(url).dataFormat(format)));
  }

  static GetImportJobResponse ended(String jobId) {
    return Await.until(() -> ses.getImportJob(r -> r.jobId(jobId)),
        j -> j.jobStatus() == JobStatus.COMPLETED || j.jobStatus() == JobStatus.FAILED, Duration.ofSeconds(30));
  }

  /** The file a presigned link fetches, by anyone holding it. */
  static String fetch(String url) throws Exception {
    assertTrue(url.startsWith(node.endpoint() + "/s3/mailgate-imports/") && url.contains("X-Amz-Signature="), url);
    HttpResponse<String> got = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, got.statusCode(), got.body());
    return got.body();
  }

  static Map<String, String> suppressed() {
    return ses.listSuppressedDestinations(r -> r.pageSize(100)).suppressedDestinationSummaries().stream()
        .collect(Collectors.toMap(s -> s.emailAddress(), s -> s.reasonAsString()));
  }

  @Test
  void suppressionListPutThenDelete() throws Exception {
    ses.putSuppressedDestination(r -> r.emailAddress("kept@example.com").reason(SuppressionListReason.BOUNCE));
    ses.putSuppressedDestination(r -> r.emailAddress("Changed@example.com").reason(SuppressionListReason.BOUNCE));
    String file = "a@example.com,BOUNCE\r\n"
        + "b@example.com, COMPLAINT\r\n"
        + "\r\n"
        + "changed@example.com,complaint\n"
        + "not an address,BOUNCE\n"
        + "c@example.com\n"
        + "d@example.com,SPAM\n"
        + "A@EXAMPLE.COM,COMPLAINT\n"
        + "bad\r\n@example.com,BOUNCE\n";
    String job = suppression(SuppressionListImportAction.PUT, upload("lists", "suppress.csv", file), DataFormat.CSV);
    GetImportJobResponse got = ended(job);
    assertEquals(JobStatus.COMPLETED, got.jobStatus(), String.valueOf(got.failureInfo()));
    assertEquals(9, got.processedRecordsCount());
    assertEquals(5, got.failedRecordsCount());
    assertEquals("s3://lists/suppress.csv", got.importDataSource().s3Url());
    assertEquals(SuppressionListImportAction.PUT,
        got.importDestination().suppressionListDestination().suppressionListImportAction());
    assertNull(got.failureInfo().errorMessage());
    Map<String, String> listed = suppressed();
    // the last record of an address counts; reasons as SES spells them; what was there and not named stays
    assertEquals(Map.of("a@example.com", "COMPLAINT", "b@example.com", "COMPLAINT", "changed@example.com", "COMPLAINT",
        "kept@example.com", "BOUNCE"), listed);
    String failed = fetch(got.failureInfo().failedRecordsS3Url());
    List<String> lines = failed.lines().toList();
    assertEquals("lineNumber,record,errorMessage", lines.get(0));
    assertTrue(lines.get(1).startsWith("5,\"not an address,BOUNCE\","), failed);
    assertTrue(lines.get(2).startsWith("6,c@example.com,The record has no reason"), failed);
    assertTrue(lines.get(3).startsWith("7,\"d@example.com,SPAM\","), failed);
    assertTrue(lines.get(4).startsWith("9,bad,"), failed); // a line break ends a record: two of them
    assertTrue(lines.get(5).startsWith("10,\"@example.com,BOUNCE\",Missing local part"), failed);
    assertEquals(6, lines.size(), failed);

    // the same addresses taken off, as JSON Lines: a reason is not needed
    String json = "{\"emailAddress\":\"a@example.com\"}\n{\"EmailAddress\":\"CHANGED@example.com\",\"reason\":\"x\"}\n"
        + "{\"emailAddress\":\"nobody@example.com\"}\n[1]\n";
    String delete = suppression(SuppressionListImportAction.DELETE, upload("lists", "unsuppress.json", json),
        DataFormat.JSON);
    got = ended(delete);
    assertEquals(JobStatus.COMPLETED, got.jobStatus());
    assertEquals(4, got.processedRecordsCount());
    assertEquals(1, got.failedRecordsCount());
    assertTrue(fetch(got.failureInfo().failedRecordsS3Url()).contains("\"lineNumber\":4,\"record\":\"[1]\""));
    assertEquals(Map.of("b@example.com", "COMPLAINT", "kept@example.com", "BOUNCE"), suppressed());
  }

  @Test
  void contactListPutThenDelete() {
    ses.createContact(r -> r.contactListName("news").emailAddress("old@example.com").unsubscribeAll(true)
        .attributesData("{\"was\":1}"));
    String file = "emailAddress,topicPreferences,unsubscribeAll,attributesData\n"
        + "ann@example.com,\"[{\"\"TopicName\"\":\"\"offers\"\",\"\"SubscriptionStatus\"\":\"\"OPT_IN\"\"}]\",,"
        + "\"{\"\"name\"\": \"\"Ann,\nthe first\"\"}\"\n"
        + "Old@example.com,,false,\n"
        + "bob@example.com,\"[{\"\"TopicName\"\":\"\"weather\"\",\"\"SubscriptionStatus\"\":\"\"OPT_IN\"\"}]\",,\n"
        + "cy@example.com,,maybe,\n"
        + "dee@example.com,,TRUE,\n";
    String job = contacts(ContactListImportAction.PUT, upload("lists", "contacts.csv", file), DataFormat.CSV);
    GetImportJobResponse got = ended(job);
    assertEquals(JobStatus.COMPLETED, got.jobStatus(), String.valueOf(got.failureInfo()));
    assertEquals(5, got.processedRecordsCount());
    assertEquals(2, got.failedRecordsCount());
    assertEquals("news", got.importDestination().contactListDestination().contactListName());
    GetContactResponse ann = ses.getContact(r -> r.contactListName("news").emailAddress("ann@example.com"));
    assertEquals(SubscriptionStatus.OPT_IN, ann.topicPreferences().get(0).subscriptionStatus());
    assertEquals("{\"name\": \"Ann,\nthe first\"}", ann.attributesData());
    assertFalse(ann.unsubscribeAll());
    // a contact that was there is replaced as a whole: its UnsubscribeAll and attributes as the record gives them
    GetContactResponse old = ses.getContact(r -> r.contactListName("news").emailAddress("old@example.com"));
    assertFalse(old.unsubscribeAll());
    assertNull(old.attributesData());
    assertTrue(ses.getContact(r -> r.contactListName("news").emailAddress("dee@example.com")).unsubscribeAll());
    assertThrows(NotFoundException.class,
        () -> ses.getContact(r -> r.contactListName("news").emailAddress("bob@example.com")));

    String json = "{\"emailAddress\":\"ann@example.com\"}\n{\"emailAddress\":\"dee@example.com\"}\n";
    got = ended(contacts(ContactListImportAction.DELETE, upload("lists", "gone.json", json), DataFormat.JSON));
    assertEquals(JobStatus.COMPLETED, got.jobStatus());
    assertEquals(2, got.processedRecordsCount());
    assertEquals(0, got.failedRecordsCount());
    assertNull(got.failureInfo());
    List<String> left = ses.listContacts(r -> r.contactListName("news")).contacts().stream()
        .map(c -> c.emailAddress()).sorted().toList();
    assertEquals(List.of("Old@example.com"), left);
  }

  @Test
  void filesThatFailWhole() {
    byte[] latin1 = "ren\u00e9@example.com,BOUNCE\n".getBytes(StandardCharsets.ISO_8859_1);
    s3.putObject(r -> r.bucket("lists").key("latin1.csv"), RequestBody.fromBytes(latin1));
    GetImportJobResponse got = ended(suppression(SuppressionListImportAction.PUT, "s3://lists/latin1.csv",
        DataFormat.CSV));
    assertEquals(JobStatus.FAILED, got.jobStatus());
    assertEquals("The file is not UTF-8 text.", got.failureInfo().errorMessage());

    StringBuilder many = new StringBuilder();
    for (int i = 0; i <= 100_000; i++) {
      many.append("many").append(i).append("@example.org,BOUNCE\n");
    }
    got = ended(suppression(SuppressionListImportAction.PUT, upload("lists", "many.csv", many.toString()),
        DataFormat.CSV));
    assertEquals(JobStatus.FAILED, got.jobStatus());
    assertTrue(got.failureInfo().errorMessage().startsWith("The file has more than 100,000 records"),
        got.failureInfo().errorMessage());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email LIKE 'many%'"));
  }

  @Test
  void listedByPageAndDestination() {
    Accounts.NewKey k = node.createAccount("import-lister", true, 100, 10_000);
    SesV2Client as = node.sesV2(k.accessKeyId(), k.secretAccessKey());
    S3Client own = node.s3(k.accessKeyId(), k.secretAccessKey(), 1);
    own.putObject(r -> r.bucket("inbox").key("s.csv"), RequestBody.fromString("x@example.com,BOUNCE\n"));
    as.createContactList(r -> r.contactListName("people"));
    String first = create(as, r -> r.importDestination(d -> d.suppressionListDestination(s -> s
        .suppressionListImportAction(SuppressionListImportAction.PUT)))
        .importDataSource(s -> s.s3Url("s3://inbox/s.csv").dataFormat(DataFormat.CSV)));
    String second = create(as, r -> r.importDestination(d -> d.contactListDestination(s -> s.contactListName("people")
        .contactListImportAction(ContactListImportAction.PUT)))
        .importDataSource(s -> s.s3Url("s3://inbox/s.csv").dataFormat(DataFormat.CSV)));
    String third = create(as, r -> r.importDestination(d -> d.suppressionListDestination(s -> s
        .suppressionListImportAction(SuppressionListImportAction.DELETE)))
        .importDataSource(s -> s.s3Url("s3://inbox/s.csv").dataFormat(DataFormat.CSV)));
    ListImportJobsResponse page = as.listImportJobs(r -> r.pageSize(2));
    assertEquals(List.of(third, second), page.importJobs().stream().map(ImportJobSummary::jobId).toList());
    ListImportJobsResponse rest = as.listImportJobs(r -> r.pageSize(2).nextToken(page.nextToken()));
    assertEquals(List.of(first), rest.importJobs().stream().map(ImportJobSummary::jobId).toList());
    assertNull(rest.nextToken());
    assertEquals(List.of(third, first), as.listImportJobs(r -> r.importDestinationType(
        ImportDestinationType.SUPPRESSION_LIST)).importJobs().stream().map(ImportJobSummary::jobId).toList());
    assertEquals(List.of(second), as.listImportJobs(r -> r.importDestinationType(ImportDestinationType.CONTACT_LIST))
        .importJobs().stream().map(ImportJobSummary::jobId).toList());
    // another account's job is not there for this one
    assertThrows(NotFoundException.class, () -> ses.getImportJob(r -> r.jobId(first)));
    assertEquals(0, ses.listImportJobs(r -> r.pageSize(100)).importJobs().stream()
        .filter(j -> j.jobId().equals(first)).count());
    as.close();
    own.close();
  }

  @Test
  void badRequestsMakeNoJob() {
    upload("lists", "ok.csv", "ok@example.com,BOUNCE\n");
    long before = Db.count(pg, "SELECT count(*) FROM import_jobs");
    Consumer<CreateImportJobRequest.Builder> suppressionPut = r -> r.importDestination(d -> d
        .suppressionListDestination(s -> s.suppressionListImportAction(SuppressionListImportAction.PUT)));
    List<Consumer<CreateImportJobRequest.Builder>> bad = List.of(
        r -> r.importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat(DataFormat.CSV)),
        r -> suppressionPut.accept(r),
        r -> suppressionPut.andThen(b -> b.importDataSource(s -> s.s3Url("s3://lists/ok.csv"))).accept(r),
        r -> suppressionPut.andThen(b -> b.importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat("XML")))
            .accept(r),
        r -> suppressionPut.andThen(b -> b.importDataSource(s -> s.s3Url("https://lists/ok.csv")
            .dataFormat(DataFormat.CSV))).accept(r),
        r -> suppressionPut.andThen(b -> b.importDataSource(s -> s.s3Url("s3://lists/missing.csv")
            .dataFormat(DataFormat.CSV))).accept(r),
        r -> suppressionPut.andThen(b -> b.importDataSource(s -> s.s3Url("s3://Bad_Bucket/ok.csv")
            .dataFormat(DataFormat.CSV))).accept(r),
        r -> r.importDestination(d -> d.suppressionListDestination(s -> s.suppressionListImportAction("MERGE")))
            .importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat(DataFormat.CSV)),
        r -> r.importDestination(d -> d.suppressionListDestination(s -> s
                .suppressionListImportAction(SuppressionListImportAction.PUT))
            .contactListDestination(c -> c.contactListName("news").contactListImportAction("PUT")))
            .importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat(DataFormat.CSV)),
        r -> r.importDestination(d -> d.contactListDestination(c -> c.contactListImportAction("PUT")))
            .importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat(DataFormat.CSV)));
    for (Consumer<CreateImportJobRequest.Builder> request : bad) {
      assertThrows(BadRequestException.class, () -> Await.paced(() -> ses.createImportJob(request).jobId()));
    }
    assertThrows(NotFoundException.class, () -> Await.paced(() -> ses.createImportJob(r -> r
        .importDestination(d -> d.contactListDestination(c -> c.contactListName("nope").contactListImportAction("PUT")))
        .importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat(DataFormat.CSV))).jobId()));
    // an account in the sandbox may not change its lists in bulk, as in SES
    Accounts.NewKey sandboxed = node.createAccount("import-sandbox", false, 1, 200);
    SesV2Client sandbox = node.sesV2(sandboxed.accessKeyId(), sandboxed.secretAccessKey());
    BadRequestException refused = assertThrows(BadRequestException.class, () -> sandbox.createImportJob(suppressionPut
        .andThen(b -> b.importDataSource(s -> s.s3Url("s3://lists/ok.csv").dataFormat(DataFormat.CSV)))));
    assertTrue(refused.getMessage().contains("production access"), refused.getMessage());
    sandbox.close();
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM import_jobs"));
    assertThrows(NotFoundException.class, () -> ses.getImportJob(r -> r.jobId("00000000-0000-0000-0000-000000000000")));
    assertThrows(NotFoundException.class, () -> ses.getImportJob(r -> r.jobId("not-a-job")));
    assertThrows(BadRequestException.class, () -> ses.listImportJobs(r -> r.importDestinationType("EVERYTHING")));
    assertThrows(BadRequestException.class, () -> ses.listImportJobs(r -> r.nextToken("forged")));
  }
}
