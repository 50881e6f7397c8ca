package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.checksums.DefaultChecksumAlgorithm;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * PutObject through the AWS SDK's own S3 client, as it sends to an http endpoint by default (a streaming upload of
 * signed chunks with a CRC32 trailer) and as it sends with other settings (no trailer, no chunks, other checksums),
 * and through the SDK's signer for the modes it uses elsewhere (unsigned chunks with a trailer, UNSIGNED-PAYLOAD):
 * what is put is read back byte for byte; every upload whose bytes, signatures or digests do not agree is refused
 * with S3's error and writes nothing, as do uploads too large, past what the account may keep, or by no one.
 */
class S3PutObjectTest {
  static TestNode node;
  static String pg;
  static S3Client s3;
  static Accounts.NewKey small;
  static final String ACCOUNT_KEY = TestNode.ACCESS_KEY;

  @BeforeAll
  static void start() {
    node = TestNode.start("", c -> c.with(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT, 5_000_000L));
    pg = node.config().get(MailgateConfig.PG_URL);
    s3 = node.s3(TestNode.ACCESS_KEY, TestNode.SECRET, 1);
    small = node.createAccount("s3-small", true, 10, 1000);
  }

  @AfterAll
  static void stop() {
    s3.close();
    node.close();
  }

  static S3Client client(Consumer<S3ClientBuilder> settings, SdkHttpClient http) {
    S3ClientBuilder b = S3Client.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET)))
        .httpClient(http).overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1)));
    settings.accept(b);
    return b.build();
  }

  static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static String md5(byte[] content) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(content));
  }

  static byte[] read(String bucket, String key) {
    return s3.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asByteArray();
  }

  static long stored(String key) {
    return Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = '" + key + "'");
  }

  static S3Exception refused(int status, String code, Runnable call) {
    S3Exception e = assertThrows(S3Exception.class, call::run);
    assertEquals(status, e.statusCode(), e.toString());
    assertEquals(code, e.awsErrorDetails().errorCode(), e.toString());
    return e;
  }

  @Test
  void theSdksDefaultUploadOfSignedChunksAndACrc32TrailerRoundTrips() throws Exception {
    for (int size : List.of(0, 1, 70_000, 200_000)) { // 200,000 bytes: two chunks of the SDK's 128 KB
      byte[] content = random(size, size);
      PutObjectResponse put = s3.putObject(r -> r.bucket("uploads").key("default-" + size),
          RequestBody.fromBytes(content));
      assertEquals("\"" + md5(content) + "\"", put.eTag());
      assertTrue(put.checksumCRC32() != null, "the checksum is echoed");
      assertArrayEquals(content, read("uploads", "default-" + size));
      assertEquals("\"" + md5(content) + "\"", s3.headObject(r -> r.bucket("uploads").key("default-" + size)).eTag());
    }
    // a key of any characters, and an object replaced
    String key = "dir/Zoë ✓ 🙂 a+b=c&d?e#f.csv";
    s3.putObject(r -> r.bucket("uploads").key(key), RequestBody.fromString("first"));
    s3.putObject(r -> r.bucket("uploads").key(key), RequestBody.fromString("second, longer"));
    assertEquals("second, longer", new String(read("uploads", key), StandardCharsets.UTF_8));
    assertTrue(s3.listObjectsV2(r -> r.bucket("uploads").prefix("dir/")).contents().stream()
        .anyMatch(o -> o.key().equals(key) && o.size() == 14));
    // another account has no such bucket
    try (S3Client other = node.s3(small.accessKeyId(), small.secretAccessKey(), 1)) {
      refused(404, "NoSuchBucket", () -> other.getObjectAsBytes(r -> r.bucket("uploads").key(key)));
    }
  }

  /**
   * An aws-chunked body is held twice while it is read and written (as it came, and decoded), and the node's budget
   * of S3 bytes in memory counts both: with room for the body as sent but not for its decoded copy too, the PUT is
   * SlowDown and writes nothing; with room, it is stored, and what it took is given back.
   */
  @Test
  void aChunkedBodyTakesTheReadBudgetForBothItsCopies() throws Exception {
    io.mailgate.ByteBudget reads = (io.mailgate.ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http")
        .get("s3-reads");
    byte[] content = random(400_000, 3); // signed chunks of 128 KB and a trailer: about 400,700 bytes sent
    long room = 600_000; // the body as sent fits, the two copies (about 800,700 bytes) do not
    long taken = reads.max() - room - reads.held();
    assertTrue(reads.take(taken));
    try {
      refused(503, "SlowDown", () -> s3.putObject(r -> r.bucket("uploads").key("budget"),
          RequestBody.fromBytes(content)));
      assertEquals(0, stored("budget"));
      io.mailgate.testing.Await.until(() -> reads.held() == taken, java.time.Duration.ofSeconds(5));
    } finally {
      reads.release(taken);
    }
    s3.putObject(r -> r.bucket("uploads").key("budget"), RequestBody.fromBytes(content));
    assertArrayEquals(content, read("uploads", "budget"));
    io.mailgate.testing.Await.until(() -> reads.held() == 0, java.time.Duration.ofSeconds(5));
    s3.deleteObject(r -> r.bucket("uploads").key("budget")); // the account's room is the other tests'
  }

  /**
   * S3's conditional writes: If-None-Match: * writes only where there is no object, If-Match only over the object
   * with that ETag (NoSuchKey where there is none); refused, nothing is written. (CompleteMultipartUpload's and
   * CopyObject's: S3MultipartObjectsTest, S3CopyObjectTest.)
   */
  @Test
  void conditionalWritesWriteOnlyWhereTheirConditionHolds() throws Exception {
    String key = "conditional";
    s3.putObject(r -> r.bucket("uploads").key(key).ifNoneMatch("*"), RequestBody.fromString("first"));
    refused(412, "PreconditionFailed", () -> s3.putObject(r -> r.bucket("uploads").key(key).ifNoneMatch("*"),
        RequestBody.fromString("second")));
    String etag = "\"" + md5("first".getBytes(StandardCharsets.UTF_8)) + "\"";
    refused(412, "PreconditionFailed", () -> s3.putObject(r -> r.bucket("uploads").key(key)
        .ifMatch("\"0123456789abcdef0123456789abcdef\""), RequestBody.fromString("second")));
    assertEquals("first", new String(read("uploads", key), StandardCharsets.UTF_8));
    s3.putObject(r -> r.bucket("uploads").key(key).ifMatch(etag), RequestBody.fromString("third"));
    assertEquals("third", new String(read("uploads", key), StandardCharsets.UTF_8));
    refused(412, "PreconditionFailed", () -> s3.putObject(r -> r.bucket("uploads").key(key).ifMatch(etag),
        RequestBody.fromString("fourth"))); // the ETag is the replaced object's no longer
    refused(404, "NoSuchKey", () -> s3.putObject(r -> r.bucket("uploads").key("conditional-never").ifMatch(etag),
        RequestBody.fromString("x")));
    refused(501, "NotImplemented", () -> s3.putObject(r -> r.bucket("uploads").key("conditional-never")
        .ifNoneMatch(etag), RequestBody.fromString("x"))); // only * is S3's
    assertEquals(0, stored("conditional-never"));
    assertEquals("third", new String(read("uploads", key), StandardCharsets.UTF_8));

    s3.deleteObject(r -> r.bucket("uploads").key(key));
  }

  @Test
  void otherSettingsOfTheSdkRoundTrip() throws Exception {
    byte[] content = random(150_000, 7);
    List<Consumer<S3ClientBuilder>> settings = List.of(
        b -> b.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED), // signed chunks, no trailer
        b -> b.serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build()), // one body
        b -> b.serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED));
    int i = 0;
    for (Consumer<S3ClientBuilder> setting : settings) {
      String key = "setting-" + i++;
      try (S3Client c = client(setting, UrlConnectionHttpClient.create())) {
        assertEquals("\"" + md5(content) + "\"", c.putObject(r -> r.bucket("uploads").key(key),
            RequestBody.fromBytes(content)).eTag());
      }
      assertArrayEquals(content, read("uploads", key), key);
    }
    for (ChecksumAlgorithm algorithm : List.of(ChecksumAlgorithm.CRC32_C, ChecksumAlgorithm.SHA1,
        ChecksumAlgorithm.SHA256, ChecksumAlgorithm.CRC64_NVME)) {
      String key = "checksum-" + algorithm;
      s3.putObject(r -> r.bucket("uploads").key(key).checksumAlgorithm(algorithm), RequestBody.fromBytes(content));
      assertArrayEquals(content, read("uploads", key), key);
    }
    byte[] md5 = MessageDigest.getInstance("MD5").digest(content);
    s3.putObject(r -> r.bucket("uploads").key("with-md5").contentMD5(Base64.getEncoder().encodeToString(md5)),
        RequestBody.fromBytes(content));
    assertArrayEquals(content, read("uploads", "with-md5"));
  }

  static byte[] readAll(ContentStreamProvider body) {
    try {
      return body.newStream().readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An SDK client whose requests' bodies (once signed) are changed by {@code change} on their way. */
  static S3Client tampering(UnaryOperator<byte[]> change, Consumer<S3ClientBuilder> settings) {
    SdkHttpClient real = UrlConnectionHttpClient.create();
    SdkHttpClient http = new SdkHttpClient() {
      @Override
      public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
        byte[] body = request.contentStreamProvider().map(S3PutObjectTest::readAll).orElse(null);
        byte[] sent = body == null ? null : change.apply(body);
        return real.prepareRequest(HttpExecuteRequest.builder().request(request.httpRequest())
            .contentStreamProvider(sent == null ? null : () -> new ByteArrayInputStream(sent)).build());
      }

      @Override
      public void close() {
        real.close();
      }
    };
    return client(settings, http);
  }

  /** The body with its first occurrence of {@code from} (as ISO-8859-1 text) replaced by {@code to}, same length. */
  static UnaryOperator<byte[]> replace(String from, String to) {
    return body -> {
      String text = new String(body, StandardCharsets.ISO_8859_1);
      assertTrue(text.contains(from), text.substring(0, Math.min(300, text.length())));
      return text.replaceFirst(java.util.regex.Pattern.quote(from), to).getBytes(StandardCharsets.ISO_8859_1);
    };
  }

  @Test
  void bytesThatDoNotAgreeWithTheirSignaturesOrDigestsAreRefusedAndWriteNothing() throws Exception {
    String content = "alice@example.com,BOUNCE\n";
    // a chunk's data changed on the way: its signature no longer agrees
    try (S3Client c = tampering(replace("alice", "mallo"), b -> { })) {
      refused(403, "SignatureDoesNotMatch", () -> c.putObject(r -> r.bucket("uploads").key("t1"),
          RequestBody.fromString(content)));
    }
    // the trailer's checksum changed: the trailer's signature no longer agrees
    try (S3Client c = tampering(body -> {
      String text = new String(body, StandardCharsets.ISO_8859_1);
      int at = text.indexOf("x-amz-checksum-crc32:") + "x-amz-checksum-crc32:".length();
      return (text.substring(0, at) + "AAAAAA==" + text.substring(at + 8)).getBytes(StandardCharsets.ISO_8859_1);
    }, b -> { })) {
      refused(403, "SignatureDoesNotMatch", () -> c.putObject(r -> r.bucket("uploads").key("t2"),
          RequestBody.fromString(content)));
    }
    // a whole body signed by its SHA-256, changed: S3's mismatch
    try (S3Client c = tampering(replace("alice", "mallo"), b -> b.serviceConfiguration(S3Configuration.builder()
        .chunkedEncodingEnabled(false).build()).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED))) {
      refused(400, "XAmzContentSHA256Mismatch", () -> c.putObject(r -> r.bucket("uploads").key("t3"),
          RequestBody.fromString(content)));
    }
    // digests that are not the content's
    refused(400, "BadDigest", () -> s3.putObject(r -> r.bucket("uploads").key("t4")
        .contentMD5(Base64.getEncoder().encodeToString(new byte[16])), RequestBody.fromString(content)));
    refused(400, "InvalidDigest", () -> s3.putObject(r -> r.bucket("uploads").key("t5").contentMD5("not-md5"),
        RequestBody.fromString(content)));
    refused(400, "BadDigest", () -> s3.putObject(r -> r.bucket("uploads").key("t6").checksumCRC32("AAAAAA=="),
        RequestBody.fromString(content)));
    // no one's key, and a wrong secret
    try (S3Client nobody = node.s3("AKIANOBODY0000000000", "x", 1)) {
      refused(403, "InvalidAccessKeyId", () -> nobody.putObject(r -> r.bucket("uploads").key("t7"),
          RequestBody.fromString(content)));
    }
    try (S3Client wrong = node.s3(TestNode.ACCESS_KEY, "not-the-secret", 1)) {
      refused(403, "SignatureDoesNotMatch", () -> wrong.putObject(r -> r.bucket("uploads").key("t8"),
          RequestBody.fromString(content)));
    }
    for (int i = 1; i <= 8; i++) {
      assertEquals(0, stored("t" + i), "t" + i);
    }
  }

  /** The x-amz-content-sha256 of the last {@link #signedPut}: how the signer signed it. */
  static String lastMode;

  /**
   * A PUT signed by the SDK's own signer: its payload signed or not, in signed chunks or not, with a CRC32 trailer or
   * not; sent as it comes out, or as {@code change} makes it.
   */
  static HttpExecuteResponse signedPut(String key, byte[] content, boolean signPayload, boolean chunked,
      boolean crc32, UnaryOperator<byte[]> change) throws IOException {
    // the signer signs every payload it sends over http: the request is signed as for https, then sent over http (the
    // scheme is not signed)
    URI uri = URI.create(node.endpoint().toString().replace("http:", "https:") + S3Api.PATH + "/uploads/" + key);
    SdkHttpFullRequest request = SdkHttpFullRequest.builder().method(SdkHttpMethod.PUT).uri(uri)
        .putHeader("Content-Length", Integer.toString(content.length)).build();
    SignedRequest signed = AwsV4HttpSigner.create().sign(r -> {
      r.identity(AwsCredentialsIdentity.create(TestNode.ACCESS_KEY, TestNode.SECRET)).request(request)
          .payload(ContentStreamProvider.fromByteArray(content))
          .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
          .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
          .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, signPayload)
          .putProperty(AwsV4HttpSigner.CHUNK_ENCODING_ENABLED, chunked);
      if (crc32) {
        r.putProperty(AwsV4FamilyHttpSigner.CHECKSUM_ALGORITHM, DefaultChecksumAlgorithm.CRC32);
      }
    });
    byte[] body = signed.payload().map(S3PutObjectTest::readAll).orElse(new byte[0]);
    byte[] sent = change.apply(body);
    lastMode = signed.request().firstMatchingHeader("x-amz-content-sha256").orElse(null);
    try (SdkHttpClient http = UrlConnectionHttpClient.create()) {
      return http.prepareRequest(HttpExecuteRequest.builder().request(signed.request().toBuilder().protocol("http")
          .putHeader("Content-Length", Integer.toString(sent.length)).build())
          .contentStreamProvider(() -> new ByteArrayInputStream(sent)).build()).call();
    }
  }

  static String bodyOf(HttpExecuteResponse r) throws IOException {
    return r.responseBody().isPresent() ? new String(r.responseBody().get().readAllBytes(), StandardCharsets.UTF_8)
        : "";
  }

  /** A {@link #signedPut} sent as signed, in {@code mode}, and read back whole. */
  static void roundTrip(String key, byte[] content, boolean signPayload, boolean chunked, boolean crc32, String mode)
      throws IOException {
    HttpExecuteResponse put = signedPut(key, content, signPayload, chunked, crc32, b -> b);
    assertEquals(200, put.httpResponse().statusCode(), bodyOf(put));
    assertEquals(mode, lastMode);
    assertArrayEquals(content, read("uploads", key));
  }

  @Test
  void theSignersOtherModes() throws Exception {
    byte[] content = random(100_000, 3);
    // unsigned chunks with a checksum trailer (what the SDKs send over https)
    roundTrip("unsigned-chunks", content, false, true, true, "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    // ... whose checksum is then the content's only protection: content changed is BadDigest
    HttpExecuteResponse changed = signedPut("unsigned-changed", content, false, true, true, body -> {
      byte[] copy = Arrays.copyOf(body, body.length);
      copy[100] ^= 1; // within the first chunk's data
      return copy;
    });
    String changedAnswer = bodyOf(changed);
    assertEquals(400, changed.httpResponse().statusCode(), changedAnswer);
    assertTrue(changedAnswer.contains("<Code>BadDigest</Code>"), changedAnswer);
    // UNSIGNED-PAYLOAD, the body as it is
    roundTrip("unsigned-payload", content, false, false, false, "UNSIGNED-PAYLOAD");
    // signed chunks without a trailer, whole, then with their first chunk dropped: the next one's signature no
    // longer chains from the request's
    byte[] two = random(200_000, 4);
    roundTrip("signed-chunks", two, true, true, false, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    HttpExecuteResponse dropped = signedPut("dropped", two, true, true, false, body -> {
      String text = new String(body, StandardCharsets.ISO_8859_1);
      int size = Integer.parseInt(text.substring(0, text.indexOf(';')), 16);
      return text.substring(text.indexOf("\r\n") + 2 + size + 2).getBytes(StandardCharsets.ISO_8859_1);
    });
    assertEquals(403, dropped.httpResponse().statusCode(), bodyOf(dropped));
    assertEquals(0, stored("unsigned-changed") + stored("dropped"));
  }

  @Test
  void tooLargeForAnObjectOrForWhatTheAccountMayKeepOrWithoutALength() throws Exception {
    // an account keeps at most 5,000,000 bytes; what an object replaces does not count
    try (S3Client c = node.s3(small.accessKeyId(), small.secretAccessKey(), 1)) {
      c.putObject(r -> r.bucket("quota").key("a"), RequestBody.fromBytes(new byte[3_000_000]));
      S3Exception over = refused(400, "EntityTooLarge", () -> c.putObject(r -> r.bucket("quota").key("b"),
          RequestBody.fromBytes(new byte[2_500_000])));
      assertTrue(over.awsErrorDetails().errorMessage().contains("past what it may keep"), over.toString());
      c.putObject(r -> r.bucket("quota").key("a"), RequestBody.fromBytes(new byte[4_500_000]));
      assertEquals(0, stored("b"));
      c.deleteObject(r -> r.bucket("quota").key("a"));
    }
    // past the object limit: refused from its headers, before its body is read
    HttpExecuteResponse huge;
    try (SdkHttpClient http = UrlConnectionHttpClient.create()) {
      SdkHttpFullRequest request = SdkHttpFullRequest.builder().method(SdkHttpMethod.PUT)
          .uri(URI.create(node.endpoint() + S3Api.PATH + "/uploads/huge"))
          .putHeader("Content-Length", Long.toString(Upload.MAX_OBJECT_BYTES + 1))
          .putHeader("x-amz-content-sha256", "UNSIGNED-PAYLOAD").putHeader("Authorization", "AWS4-HMAC-SHA256 x")
          .build();
      huge = http.prepareRequest(HttpExecuteRequest.builder().request(request)
          .contentStreamProvider(() -> new ByteArrayInputStream(new byte[1])).build()).call();
    } catch (IOException e) {
      huge = null; // the node answered before the body was sent, and closed: the client saw its write fail
    }
    if (huge != null) {
      assertEquals(400, huge.httpResponse().statusCode());
      assertTrue(bodyOf(huge).contains("<Code>EntityTooLarge</Code>"));
    }
    assertEquals(0, stored("huge"));
  }

  static software.amazon.awssdk.services.s3.presigner.S3Presigner presigner(String secret) {
    return software.amazon.awssdk.services.s3.presigner.S3Presigner.builder()
        .endpointOverride(URI.create(node.endpoint() + S3Api.PATH)).region(Region.US_EAST_1)
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            secret))).build();
  }

  static java.net.http.HttpResponse<String> put(URI url, byte[] body) throws Exception {
    return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(url)
        .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A presigned PUT (S3Presigner's, sent by a plain HTTP client, as a browser or curl sends one): the object written,
   * its payload unsigned as the presigner signs it; a URL changed or signed with another secret is refused with S3's
   * errors and writes nothing (a URL past its time: SigV4VerifierTest).
   */
  @Test
  void presignedPutsWriteWhatTheySend() throws Exception {
    byte[] content = random(300_000, 21);
    try (var presigner = presigner(TestNode.SECRET)) {
      URI url = presigner.presignPutObject(r -> r.signatureDuration(Duration.ofMinutes(5))
          .putObjectRequest(p -> p.bucket("uploads").key("presigned file.csv"))).url().toURI();
      java.net.http.HttpResponse<String> ok = put(url, content);
      assertEquals(200, ok.statusCode(), ok.body());
      assertEquals("\"" + md5(content) + "\"", ok.headers().firstValue("ETag").orElse(null));
      assertArrayEquals(content, read("uploads", "presigned file.csv"));
      // the URL names its key: another key is another request, which it does not sign
      URI other = URI.create(url.toString().replace("presigned%20file.csv", "other.csv"));
      java.net.http.HttpResponse<String> moved = put(other, content);
      assertEquals(403, moved.statusCode(), moved.body());
      assertTrue(moved.body().contains("<Code>SignatureDoesNotMatch</Code>"), moved.body());
      assertEquals(0, stored("other.csv"));
      // a part of a multipart upload, presigned too
      String uploadId = s3.createMultipartUpload(r -> r.bucket("uploads").key("presigned-parts")).uploadId();
      URI part = presigner.presignUploadPart(r -> r.signatureDuration(Duration.ofMinutes(5))
          .uploadPartRequest(p -> p.bucket("uploads").key("presigned-parts").uploadId(uploadId).partNumber(1)))
          .url().toURI();
      java.net.http.HttpResponse<String> parted = put(part, "one part".getBytes(StandardCharsets.UTF_8));
      assertEquals(200, parted.statusCode(), parted.body());
      s3.completeMultipartUpload(r -> r.bucket("uploads").key("presigned-parts").uploadId(uploadId)
          .multipartUpload(m -> m.parts(p -> p.partNumber(1).eTag(parted.headers().firstValue("ETag").get()))));
      assertEquals("one part", new String(read("uploads", "presigned-parts"), StandardCharsets.UTF_8));
    }
    try (var forged = presigner("not-the-secret")) {
      URI url = forged.presignPutObject(r -> r.signatureDuration(Duration.ofMinutes(5))
          .putObjectRequest(p -> p.bucket("uploads").key("forged"))).url().toURI();
      java.net.http.HttpResponse<String> refused = put(url, content);
      assertEquals(403, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("<Code>SignatureDoesNotMatch</Code>"), refused.body());
    }
    assertEquals(0, stored("forged"));
  }

  @Test
  void theSdksDefaultHttpClientPutsFilesOverAMegabyteAndHearsRefusals() throws Exception {
    // S3Client as built with nothing but its endpoint (the Apache 5 client): over 1 MB the SDK waits for a 100
    // Continue before it sends the body, and for an early refusal it sends none
    byte[] content = random(2_500_000, 11);
    UnaryOperator<S3ClientBuilder> defaults = b -> b.endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1)
        .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1)));
    try (S3Client c = defaults.apply(S3Client.builder()).credentialsProvider(StaticCredentialsProvider.create(
        AwsBasicCredentials.create(TestNode.ACCESS_KEY, TestNode.SECRET))).build()) {
      assertEquals("\"" + md5(content) + "\"", c.putObject(r -> r.bucket("uploads").key("large"),
          RequestBody.fromBytes(content)).eTag());
    }
    assertArrayEquals(content, read("uploads", "large"));
    try (S3Client nobody = defaults.apply(S3Client.builder()).credentialsProvider(StaticCredentialsProvider.create(
        AwsBasicCredentials.create("AKIANOBODY0000000000", "x"))).build()) {
      refused(403, "InvalidAccessKeyId", () -> nobody.putObject(r -> r.bucket("uploads").key("large-nobody"),
          RequestBody.fromBytes(content)));
    }
    try (S3Client wrong = defaults.apply(S3Client.builder()).credentialsProvider(StaticCredentialsProvider.create(
        AwsBasicCredentials.create(TestNode.ACCESS_KEY, "not-the-secret"))).build()) {
      refused(403, "SignatureDoesNotMatch", () -> wrong.putObject(r -> r.bucket("uploads").key("large-wrong"),
          RequestBody.fromBytes(content)));
    }
    assertEquals(0, stored("large-nobody") + stored("large-wrong"));
  }

  /** A response read off a raw connection: its status line, headers (lower-case names) and body. */
  record Raw(String status, TreeMap<String, String> headers, String body) {}

  static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("the connection ended after '" + b + "'");
      }
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  static Raw response(InputStream in) throws IOException {
    String status = line(in);
    TreeMap<String, String> headers = new TreeMap<>();
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      headers.put(h.substring(0, h.indexOf(':')).toLowerCase(Locale.ROOT), h.substring(h.indexOf(':') + 1).strip());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    return new Raw(status, headers, new String(in.readNBytes(length), StandardCharsets.UTF_8));
  }

  /** The next response read from {@code in}, which must be a 403 with S3's error {@code code}. */
  static Raw forbidden(InputStream in, String code) throws IOException {
    Raw r = response(in);
    assertEquals("HTTP/1.1 403 Forbidden", r.status(), r.body());
    assertTrue(r.body().contains("<Code>" + code + "</Code>"), r.body());
    return r;
  }

  /** A raw connection to the node, whose reads give up after 10 s. */
  static Socket connect() throws IOException {
    Socket socket = new Socket(node.endpoint().getHost(), node.endpoint().getPort());
    socket.setSoTimeout(10_000);
    return socket;
  }

  /** The head of a PUT of {@code length} bytes signed (wrongly: a signature of zeros) with access key {@code key}. */
  static byte[] rawPut(String key, String objectKey, long length, String... more) {
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    String date = now.format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));
    StringBuilder head = new StringBuilder("PUT " + S3Api.PATH + "/uploads/" + objectKey + " HTTP/1.1\r\n"
        + "Host: " + node.endpoint().getAuthority() + "\r\n"
        + "Authorization: AWS4-HMAC-SHA256 Credential=" + key + "/" + date.substring(0, 8)
        + "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
        + "0".repeat(64) + "\r\n"
        + "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nx-amz-date: " + date + "\r\nContent-Length: " + length + "\r\n");
    for (String h : more) {
      head.append(h).append("\r\n");
    }
    return head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aClientWaitingForContinueIsToldToSendOnlyForAKeyThatExists() throws Exception {
    try (Socket socket = connect()) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      out.write(rawPut(ACCOUNT_KEY, "expect", 5, "Expect: 100-continue"));
      out.flush();
      // told at once (a client gives up waiting after 1 to 5 s, and sends anyway: each upload that much slower)
      assertEquals("HTTP/1.1 100 Continue", line(in));
      assertEquals("", line(in));
      out.write("hello".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      forbidden(in, "SignatureDoesNotMatch");
    }
    try (Socket socket = connect()) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      socket.getOutputStream().write(rawPut("AKIANOBODY0000000000", "expect-nobody", 5, "Expect: 100-continue"));
      Raw refused = forbidden(in, "InvalidAccessKeyId"); // no 100 Continue: the body is not wanted
      assertEquals("close", refused.headers().get("connection"));
    }
    assertEquals(0, stored("expect") + stored("expect-nobody"));
  }

  @Test
  void aSmallBodyRefusedUnreadIsDroppedAndTheConnectionServesTheNextRequest() throws Exception {
    try (Socket socket = connect()) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      out.write(rawPut("AKIANOBODY0000000000", "drained", 100_000));
      out.flush();
      // answered before the body is sent (refused from its key), and the connection kept: the body is read and dropped
      Raw refused = forbidden(in, "InvalidAccessKeyId");
      assertTrue(!"close".equals(refused.headers().get("connection")), refused.headers().toString());
      out.write(new byte[100_000]);
      out.write(("GET " + S3Api.PATH + "/uploads/next HTTP/1.1\r\nHost: " + node.endpoint().getAuthority()
          + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      forbidden(in, "AccessDenied");
    }
    try (Socket socket = connect()) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      // past what is dropped: the answer ends the connection
      socket.getOutputStream().write(rawPut("AKIANOBODY0000000000", "closed", S3Api.MAX_DRAINED_BYTES + 1));
      Raw refused = forbidden(in, "InvalidAccessKeyId");
      assertEquals("close", refused.headers().get("connection"));
      assertEquals(-1, in.read());
    }
    assertEquals(0, stored("drained") + stored("closed"));
  }
}
