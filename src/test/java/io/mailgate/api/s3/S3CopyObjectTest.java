package io.mailgate.api.s3;

import static io.mailgate.api.s3.ReceivedObjectsS3Test.refused;
import static io.mailgate.api.s3.S3PutObjectTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.CopyObjectResponse;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * CopyObject through the AWS SDK's S3 client (what {@code aws s3 cp} between keys and {@code aws s3 mv} send): the
 * account's object written at another key of its own, in the database, with its conditions on the source and its
 * conditional writes on the object it replaces, within what the account may keep; every refusal writes nothing. And
 * GET's and HEAD's conditions (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), which the same rules
 * evaluate.
 */
class S3CopyObjectTest {
  static final long MAX_STORED = 1_000_000;
  static TestNode node;
  static String pg;
  static S3Client s3;

  @BeforeAll
  static void start() {
    node = TestNode.start("", c -> c.with(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT, MAX_STORED));
    pg = node.config().get(MailgateConfig.PG_URL);
    s3 = node.s3(TestNode.ACCESS_KEY, TestNode.SECRET, 1);
  }

  @AfterAll
  static void stop() {
    s3.close();
    node.close();
  }

  static String md5(byte[] content) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(content));
  }

  static long stored(String key) {
    return Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = '" + key + "'");
  }

  static CopyObjectResponse copy(String fromBucket, String fromKey, String toBucket, String toKey,
      Consumer<CopyObjectRequest.Builder> more) {
    return s3.copyObject(r -> {
      r.sourceBucket(fromBucket).sourceKey(fromKey).destinationBucket(toBucket).destinationKey(toKey);
      more.accept(r);
    });
  }

  @Test
  void anObjectIsCopiedToAnotherKeyAndBucketOfTheAccount() throws Exception {
    byte[] content = random(100_000, 1);
    s3.putObject(r -> r.bucket("inbox").key("new/a.eml"), RequestBody.fromBytes(content));
    Instant before = Instant.now().minusSeconds(1);
    String to = "processed/Zoë ✓ a+b=c&d?e#f.eml"; // the SDK percent-encodes the source; any key
    CopyObjectResponse copied = copy("inbox", "new/a.eml", "archive", to, r -> { });
    assertEquals("\"" + md5(content) + "\"", copied.copyObjectResult().eTag());
    assertTrue(!copied.copyObjectResult().lastModified().isBefore(before), copied.toString());
    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("archive").key(to)).asByteArray());
    assertEquals("\"" + md5(content) + "\"", s3.headObject(r -> r.bucket("archive").key(to)).eTag());
    // the copy is an object of its own: the source replaced or deleted leaves it as it was (aws s3 mv)
    s3.putObject(r -> r.bucket("inbox").key("new/a.eml"), RequestBody.fromString("replaced"));
    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("archive").key(to)).asByteArray());
    s3.deleteObject(r -> r.bucket("inbox").key("new/a.eml"));
    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("archive").key(to)).asByteArray());
    // the copied key is listed with its size
    assertTrue(s3.listObjectsV2(r -> r.bucket("archive").prefix("processed/")).contents().stream()
        .anyMatch(o -> o.key().equals(to) && o.size() == content.length));

    // onto another object: replaced
    copy("archive", to, "archive", "other.eml", r -> { });
    s3.putObject(r -> r.bucket("archive").key("small.eml"), RequestBody.fromString("small"));
    copy("archive", "small.eml", "archive", "other.eml", r -> { });
    assertEquals("small", s3.getObjectAsBytes(r -> r.bucket("archive").key("other.eml")).asUtf8String());

    // onto itself: only as REPLACE (its time is new), as S3
    S3Exception self = refused(400, "InvalidRequest", () -> copy("archive", "small.eml", "archive", "small.eml",
        r -> { }));
    assertTrue(self.awsErrorDetails().errorMessage().contains("copy an object to itself"), self.toString());
    Instant was = s3.headObject(r -> r.bucket("archive").key("small.eml")).lastModified();
    Thread.sleep(1100);
    copy("archive", "small.eml", "archive", "small.eml", r -> r.metadataDirective(MetadataDirective.REPLACE));
    assertTrue(s3.headObject(r -> r.bucket("archive").key("small.eml")).lastModified().isAfter(was));
    assertEquals("small", s3.getObjectAsBytes(r -> r.bucket("archive").key("small.eml")).asUtf8String());
  }

  @Test
  void aMissingSourceOrAnotherAccountsIsNotFoundAndWritesNothing() {
    s3.putObject(r -> r.bucket("mine").key("k"), RequestBody.fromString("mine"));
    assertThrows(NoSuchKeyException.class, () -> copy("mine", "absent", "mine", "copy-of-absent", r -> { }));
    assertThrows(NoSuchBucketException.class, () -> copy("no-such-bucket", "k", "mine", "copy-of-absent",
        r -> { }));
    Accounts.NewKey other = node.createAccount("s3-copier", true, 10, 1000);
    try (S3Client theirs = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      // buckets are each account's own namespace: this one's "mine" is not theirs, and cannot be copied from
      assertThrows(NoSuchBucketException.class, () -> theirs.copyObject(r -> r.sourceBucket("mine").sourceKey("k")
          .destinationBucket("theirs").destinationKey("copy-of-absent")));
    }
    assertEquals(0, stored("copy-of-absent"));
  }

  @Test
  void theConditionsOnTheSourceMustHold() throws Exception {
    byte[] content = "conditional".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    s3.putObject(r -> r.bucket("cond").key("src"), RequestBody.fromBytes(content));
    String etag = "\"" + md5(content) + "\"";
    Instant past = Instant.now().minus(Duration.ofHours(1));
    Instant future = Instant.now().plus(Duration.ofHours(1));
    // which condition did not hold is named in the error's Condition element (S3PreconditionsTest)
    record Case(String condition, Consumer<CopyObjectRequest.Builder> set) {}
    for (Case c : new Case[] {
        new Case("x-amz-copy-source-If-Match", r -> r.copySourceIfMatch("\"0123456789abcdef0123456789abcdef\"")),
        new Case("x-amz-copy-source-If-None-Match", r -> r.copySourceIfNoneMatch(etag)),
        new Case("x-amz-copy-source-If-None-Match", r -> r.copySourceIfNoneMatch("*")),
        new Case("x-amz-copy-source-If-Modified-Since", r -> r.copySourceIfModifiedSince(future)),
        new Case("x-amz-copy-source-If-Unmodified-Since", r -> r.copySourceIfUnmodifiedSince(past))}) {
      refused(412, "PreconditionFailed", () -> copy("cond", "src", "cond", "dst", c.set()));
      assertEquals(0, stored("dst"), c.condition());
    }
    copy("cond", "src", "cond", "dst", r -> r.copySourceIfMatch(etag).copySourceIfModifiedSince(past));
    // an If-Match that holds makes If-Unmodified-Since moot, as in S3
    copy("cond", "src", "cond", "dst2", r -> r.copySourceIfMatch(etag).copySourceIfUnmodifiedSince(past));
    copy("cond", "src", "cond", "dst3", r -> r.copySourceIfNoneMatch("\"other\"").copySourceIfUnmodifiedSince(
        future));
    assertEquals(3, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'cond' AND object_key "
        + "LIKE 'dst%'"));
  }

  /**
   * A copy's conditional write on the object it would replace, as PutObject's: If-None-Match: * copies only where
   * there is none, If-Match only over the object with that ETag (NoSuchKey where there is none); refused, nothing is
   * written.
   */
  @Test
  void theConditionsOnTheDestinationMustHold() throws Exception {
    s3.putObject(r -> r.bucket("dest").key("src"), RequestBody.fromString("source"));
    s3.putObject(r -> r.bucket("dest").key("there"), RequestBody.fromString("there"));
    String there = "\"" + md5("there".getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "\"";
    refused(412, "PreconditionFailed", () -> copy("dest", "src", "dest", "there", r -> r.ifNoneMatch("*")));
    refused(412, "PreconditionFailed", () -> copy("dest", "src", "dest", "there",
        r -> r.ifMatch("\"0123456789abcdef0123456789abcdef\"")));
    refused(404, "NoSuchKey", () -> copy("dest", "src", "dest", "absent", r -> r.ifMatch(there)));
    refused(501, "NotImplemented", () -> copy("dest", "src", "dest", "absent", r -> r.ifNoneMatch(there)));
    assertEquals("there", s3.getObjectAsBytes(r -> r.bucket("dest").key("there")).asUtf8String());
    assertEquals(0, stored("absent"));
    // the conditions that hold
    copy("dest", "src", "dest", "absent", r -> r.ifNoneMatch("*"));
    assertEquals("source", s3.getObjectAsBytes(r -> r.bucket("dest").key("absent")).asUtf8String());
    copy("dest", "src", "dest", "there", r -> r.ifMatch(there).copySourceIfMatch(
        s3.headObject(h -> h.bucket("dest").key("src")).eTag()));
    assertEquals("source", s3.getObjectAsBytes(r -> r.bucket("dest").key("there")).asUtf8String());
  }

  @Test
  void aCopyCountsTowardWhatTheAccountMayKeep() {
    Accounts.NewKey small = node.createAccount("s3-copy-quota", true, 10, 1000);
    try (S3Client theirs = node.s3(small.accessKeyId(), small.secretAccessKey(), 1)) {
      theirs.putObject(r -> r.bucket("q").key("big"), RequestBody.fromBytes(random(600_000, 2)));
      S3Exception e = refused(400, "EntityTooLarge", () -> theirs.copyObject(r -> r.sourceBucket("q").sourceKey("big")
          .destinationBucket("q").destinationKey("big-copy")));
      assertTrue(e.awsErrorDetails().errorMessage().contains("past what it may keep (" + MAX_STORED + " bytes"),
          e.toString());
      assertEquals(0, stored("big-copy"));
      // replacing an object counts only what it grows by: itself, in place, fits
      theirs.copyObject(r -> r.sourceBucket("q").sourceKey("big").destinationBucket("q").destinationKey("big")
          .metadataDirective(MetadataDirective.REPLACE));
      assertEquals(600_000, theirs.headObject(r -> r.bucket("q").key("big")).contentLength());
    }
  }

  /** A client whose CopyObject carries the {@code x-amz-copy-source} given, as a client could write it by hand. */
  static S3Client handWritten(String copySource) {
    return S3Client.builder().endpointOverride(java.net.URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(TestNode.ACCESS_KEY, TestNode.SECRET)))
        .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
        .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)).addExecutionInterceptor(
            new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
              @Override
              public software.amazon.awssdk.http.SdkHttpRequest modifyHttpRequest(
                  software.amazon.awssdk.core.interceptor.Context.ModifyHttpRequest context,
                  software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                return context.httpRequest().toBuilder().putHeader("x-amz-copy-source", copySource).build();
              }
            }))
        .build();
  }

  static S3Exception refusedHandWritten(String copySource, String code) {
    try (S3Client hand = handWritten(copySource)) {
      S3Exception e = assertThrows(S3Exception.class, () -> hand.copyObject(r -> r.sourceBucket("bad").sourceKey("k")
          .destinationBucket("bad").destinationKey("copied")), copySource);
      assertEquals(code, e.awsErrorDetails().errorCode(), copySource + ": " + e);
      return e;
    }
  }

  @Test
  void malformedCopiesAreRefusedAndWriteNothing() {
    s3.putObject(r -> r.bucket("bad").key("k"), RequestBody.fromString("k"));
    for (String header : new String[] {"bad", "/bad", "bad/", "arn:aws:s3:::bad/k", "bad/k?partNumber=1"}) {
      S3Exception e = refusedHandWritten(header, "InvalidArgument");
      assertTrue(e.awsErrorDetails().errorMessage().contains("sourcebucket/sourcekey"), header + ": " + e);
    }
    refusedHandWritten("bad/%zz", "InvalidURI");
    refusedHandWritten("bad/k?versionId=3HL4kqtJ", "InvalidArgument");
    refused(400, "InvalidArgument", () -> copy("bad", "k", "bad", "copied", r -> r.sourceVersionId("3HL4kqtJ")));
    copy("bad", "k", "bad", "copied-null-version", r -> r.sourceVersionId("null"));
    try (S3Client hand = handWritten("/bad/k")) {
      hand.copyObject(r -> r.sourceBucket("x").sourceKey("y").destinationBucket("bad").destinationKey("copied-slash"));
    }
    refused(400, "InvalidArgument", () -> copy("bad", "k", "bad", "copied", r -> r.overrideConfiguration(o -> o
        .putHeader("x-amz-metadata-directive", "MERGE"))));
    // UploadPartCopy needs an upload (S3MultipartObjectsTest)
    refused(404, "NoSuchUpload", () -> s3.uploadPartCopy(r -> r.sourceBucket("bad").sourceKey("k")
        .destinationBucket("bad").destinationKey("copied").uploadId("none").partNumber(1)));
    assertEquals(0, stored("copied"));
    assertEquals(2, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key LIKE 'copied-%'"));
  }

  /** GET's and HEAD's conditions: 304 without a body, or 412 PreconditionFailed, before any Range. */
  @Test
  void getAndHeadHonourTheirConditions() throws Exception {
    byte[] content = random(10_000, 4);
    s3.putObject(r -> r.bucket("get-cond").key("o"), RequestBody.fromBytes(content));
    String etag = "\"" + md5(content) + "\"";
    Instant modified = s3.headObject(r -> r.bucket("get-cond").key("o")).lastModified();
    Instant past = modified.minus(Duration.ofHours(1));
    Instant future = modified.plus(Duration.ofHours(1));

    S3Exception notModified = refused(304, null, () -> s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o")
        .ifNoneMatch(etag)));
    assertEquals(etag, notModified.awsErrorDetails().sdkHttpResponse().firstMatchingHeader("ETag").orElseThrow());
    refused(304, null, () -> s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o").ifModifiedSince(modified)));
    refused(304, null, () -> s3.headObject(r -> r.bucket("get-cond").key("o").ifNoneMatch("W/" + etag + ", \"x\"")));
    refused(412, "PreconditionFailed", () -> s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o")
        .ifMatch("\"other\"")));
    refused(412, "PreconditionFailed", () -> s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o")
        .ifUnmodifiedSince(past)));
    refused(412, null, () -> s3.headObject(r -> r.bucket("get-cond").key("o").ifMatch("\"other\"")));

    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o").ifMatch(etag)
        .ifNoneMatch("\"other\"").ifModifiedSince(past).ifUnmodifiedSince(future)).asByteArray());
    // If-None-Match decides over If-Modified-Since, If-Match over If-Unmodified-Since (RFC 9110, S3)
    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o").ifNoneMatch("\"other\"")
        .ifModifiedSince(future)).asByteArray());
    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o").ifMatch(etag)
        .ifUnmodifiedSince(past)).asByteArray());
    // with a Range: conditions first, then the range
    assertArrayEquals(java.util.Arrays.copyOfRange(content, 10, 20), s3.getObjectAsBytes(r -> r.bucket("get-cond")
        .key("o").ifMatch(etag).range("bytes=10-19")).asByteArray());
    refused(304, null, () -> s3.getObjectAsBytes(r -> r.bucket("get-cond").key("o").ifNoneMatch(etag)
        .range("bytes=10-19")));
    assertEquals(content.length, s3.headObject(r -> r.bucket("get-cond").key("o").ifMatch(etag)).contentLength());
  }
}
