package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.store.Database;
import io.mailgate.store.MultipartStore;
import io.mailgate.store.RetentionVerticle;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.ChecksumType;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.ListPartsResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * Multipart uploads through the AWS SDK: its multipart client puts a file in parts as it would in S3, and the
 * operations one by one (parts replaced, listed, completed in the order named, checksums and their composite) give
 * back what S3 gives. Completions that do not name their parts right, other accounts' and keys' uploads, parts past
 * what the account may keep or past what an object may hold are refused with S3's errors and change nothing;
 * abandoned uploads go with the retention sweep.
 */
class S3MultipartTest {
  static final long MIB = 1024 * 1024;
  /** What an account may keep here: enough for a few parts of 5 MiB and more. */
  static final long QUOTA = 20 * MIB;
  static TestNode node;
  static String pg;
  static S3Client s3;
  static Accounts.NewKey other;

  @BeforeAll
  static void start() {
    node = TestNode.start("", c -> c.with(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT, QUOTA));
    pg = node.config().get(MailgateConfig.PG_URL);
    s3 = node.s3(TestNode.ACCESS_KEY, TestNode.SECRET, 1);
    other = node.createAccount("s3-multipart-other", true, 10, 1000);
  }

  @AfterAll
  static void stop() {
    s3.close();
    node.close();
  }

  /** Each test starts with nothing kept: what the last one left would count against the next one's room. */
  @AfterEach
  void clear() {
    Db.execute(pg, "DELETE FROM multipart_parts; DELETE FROM multipart_uploads; DELETE FROM received_objects");
    assertEquals(0, used());
  }

  static byte[] random(long size, long seed) {
    byte[] b = new byte[(int) size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static String md5(byte[]... contents) throws Exception {
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    for (byte[] c : contents) {
      md5.update(c);
    }
    return HexFormat.of().formatHex(md5.digest());
  }

  /** S3's ETag for an object completed from these parts: the MD5 of their MD5s, a dash and their count, quoted. */
  static String multipartEtag(byte[]... parts) throws Exception {
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    for (byte[] p : parts) {
      md5.update(MessageDigest.getInstance("MD5").digest(p));
    }
    return "\"" + HexFormat.of().formatHex(md5.digest()) + "-" + parts.length + "\"";
  }

  /** What every account keeps, as receiving.maxStoredBytesPerAccount counts it. */
  static long used() {
    return Db.count(pg, "SELECT coalesce(sum(bytes), 0) FROM received_usage");
  }

  static long rows(String table) {
    return Db.count(pg, "SELECT count(*) FROM " + table);
  }

  static S3Exception refused(int status, String code, Runnable call) {
    S3Exception e = assertThrows(S3Exception.class, call::run);
    assertEquals(status, e.statusCode(), e.toString());
    assertEquals(code, e.awsErrorDetails().errorCode(), e.toString());
    return e;
  }

  static String create(String key) {
    return s3.createMultipartUpload(r -> r.bucket("files").key(key)).uploadId();
  }

  static UploadPartResponse part(S3Client client, String key, String uploadId, int number, byte[] content) {
    return client.uploadPart(r -> r.bucket("files").key(key).uploadId(uploadId).partNumber(number),
        RequestBody.fromBytes(content));
  }

  static CompletedPart named(int number, UploadPartResponse put) {
    return CompletedPart.builder().partNumber(number).eTag(put.eTag()).checksumCRC32(put.checksumCRC32()).build();
  }

  static CompleteMultipartUploadResponse complete(S3Client client, String key, String uploadId,
      CompletedPart... parts) {
    return client.completeMultipartUpload(r -> r.bucket("files").key(key).uploadId(uploadId)
        .multipartUpload(m -> m.parts(parts)));
  }

  static byte[] read(String key) {
    return s3.getObjectAsBytes(r -> r.bucket("files").key(key)).asByteArray();
  }

  @Test
  void theSdksMultipartClientPutsAFileInPartsAsInS3() throws Exception {
    byte[] content = random(12 * MIB + 12_345, 1); // two parts of the client's 8 MiB
    try (S3AsyncClient client = S3AsyncClient.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1).multipartEnabled(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).build()) {
      String etag = client.putObject(r -> r.bucket("files").key("big.csv"), AsyncRequestBody.fromBytes(content))
          .get().eTag();
      // S3's ETag for the client's parts (8 MiB, and the rest), which a client that kept their MD5s can check
      String expected = multipartEtag(Arrays.copyOf(content, (int) (8 * MIB)),
          Arrays.copyOfRange(content, (int) (8 * MIB), content.length));
      assertEquals(expected, etag);
      assertEquals(expected, s3.headObject(r -> r.bucket("files").key("big.csv")).eTag());
    }
    assertArrayEquals(content, read("big.csv"));
    // the upload is no longer under way and its parts are gone; the object counts once in what the account keeps
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM multipart_uploads WHERE completed_at IS NULL"));
    assertEquals(0, rows("multipart_parts"));
    assertEquals(content.length, used());
  }

  @Test
  void partsAreReplacedListedAndCompletedInTheOrderNamed() throws Exception {
    String key = "dir/Zoë ✓.bin";
    String uploadId = s3.createMultipartUpload(r -> r.bucket("files").key(key)
        .checksumAlgorithm(ChecksumAlgorithm.CRC32)).uploadId();
    byte[] a = random(5 * MIB, 2);
    byte[] b = random(5 * MIB, 3);
    byte[] b2 = random(5 * MIB + 7, 4);
    byte[] c = "the last part, of any size".getBytes(StandardCharsets.UTF_8);
    UploadPartResponse p1 = part(s3, key, uploadId, 1, a);
    assertEquals("\"" + md5(a) + "\"", p1.eTag());
    assertEquals(crc32(a), p1.checksumCRC32());
    part(s3, key, uploadId, 2, b);
    UploadPartResponse p3 = part(s3, key, uploadId, 3, c);
    UploadPartResponse p2 = part(s3, key, uploadId, 2, b2); // replaces the part 2 put before
    part(s3, key, uploadId, 4, new byte[] {1}); // put, never named: discarded
    assertEquals(a.length + b2.length + c.length + 1, used(), "waiting parts count in what the account keeps");

    ListPartsResponse all = s3.listParts(r -> r.bucket("files").key(key).uploadId(uploadId));
    assertEquals(List.of(1, 2, 3, 4), all.parts().stream().map(p -> p.partNumber()).toList());
    assertEquals(List.of((long) a.length, (long) b2.length, (long) c.length, 1L),
        all.parts().stream().map(p -> p.size()).toList());
    assertEquals(p2.eTag(), all.parts().get(1).eTag());
    assertEquals(p2.checksumCRC32(), all.parts().get(1).checksumCRC32());
    assertFalse(all.isTruncated());
    assertEquals(ChecksumAlgorithm.CRC32, all.checksumAlgorithm());
    ListPartsResponse first = s3.listParts(r -> r.bucket("files").key(key).uploadId(uploadId).maxParts(2));
    assertTrue(first.isTruncated());
    assertEquals(2, first.nextPartNumberMarker());
    ListPartsResponse rest = s3.listParts(r -> r.bucket("files").key(key).uploadId(uploadId).maxParts(2)
        .partNumberMarker(first.nextPartNumberMarker()));
    assertEquals(List.of(3, 4), rest.parts().stream().map(p -> p.partNumber()).toList());
    assertFalse(rest.isTruncated());

    CompleteMultipartUploadResponse done = s3.completeMultipartUpload(r -> r.bucket("files").key(key)
        .uploadId(uploadId).mpuObjectSize((long) a.length + b2.length + c.length)
        .multipartUpload(m -> m.parts(named(1, p1), named(2, p2), named(3, p3))));
    assertEquals(multipartEtag(a, b2, c), done.eTag());
    assertEquals(key, done.key());
    // S3's composite checksum: the CRC32 of the parts' CRC32s, and their count
    ByteArrayOutputStream crcs = new ByteArrayOutputStream();
    for (UploadPartResponse p : List.of(p1, p2, p3)) {
      crcs.writeBytes(Base64.getDecoder().decode(p.checksumCRC32()));
    }
    assertEquals(crc32(crcs.toByteArray()) + "-3", done.checksumCRC32());
    assertEquals(ChecksumType.COMPOSITE, done.checksumType());
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.writeBytes(a);
    expected.writeBytes(b2);
    expected.writeBytes(c);
    assertArrayEquals(expected.toByteArray(), read(key));
    assertEquals(0, rows("multipart_parts"), "part 4, never named, went with the upload");
    assertEquals(expected.size(), used());
    // completed: a completion retried (its answer lost on the way) is answered again, as the first one was; for
    // anything else the upload is no more
    CompleteMultipartUploadResponse again = complete(s3, key, uploadId, named(1, p1));
    assertEquals(done.eTag(), again.eTag());
    assertEquals(done.checksumCRC32(), again.checksumCRC32());
    assertArrayEquals(expected.toByteArray(), read(key), "the retry wrote nothing");
    refused(404, "NoSuchUpload", () -> part(s3, key, uploadId, 5, new byte[] {5}));
    refused(404, "NoSuchUpload", () -> s3.listParts(r -> r.bucket("files").key(key).uploadId(uploadId)));
    refused(404, "NoSuchUpload", () -> s3.abortMultipartUpload(r -> r.bucket("files").key(key).uploadId(uploadId)));
    assertTrue(s3.listMultipartUploads(r -> r.bucket("files")).uploads().isEmpty());
  }

  static String crc32(byte[] content) {
    CRC32 crc = new CRC32();
    crc.update(content);
    return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  @Test
  void completionsThatDoNotNameTheirPartsRightAreRefusedAndChangeNothing() throws Exception {
    String key = "parts";
    String uploadId = create(key);
    byte[] big = random(5 * MIB, 5);
    UploadPartResponse p1 = part(s3, key, uploadId, 1, big);
    UploadPartResponse p2 = part(s3, key, uploadId, 2, "two".getBytes(StandardCharsets.UTF_8));
    UploadPartResponse p3 = part(s3, key, uploadId, 3, "three".getBytes(StandardCharsets.UTF_8));
    CompletedPart wrongTag = CompletedPart.builder().partNumber(1).eTag("\"" + md5(new byte[1]) + "\"").build();
    refused(400, "InvalidPart", () -> complete(s3, key, uploadId, wrongTag, named(3, p3)));
    CompletedPart neverPut = CompletedPart.builder().partNumber(9).eTag(p3.eTag()).build();
    refused(400, "InvalidPart", () -> complete(s3, key, uploadId, named(1, p1), neverPut));
    refused(400, "InvalidPartOrder", () -> complete(s3, key, uploadId, named(3, p3), named(1, p1)));
    refused(400, "InvalidPartOrder", () -> complete(s3, key, uploadId, named(1, p1), named(1, p1)));
    // part 2 is not the last, and smaller than 5 MiB
    refused(400, "EntityTooSmall", () -> complete(s3, key, uploadId, named(1, p1), named(2, p2), named(3, p3)));
    refused(400, "InvalidRequest", () -> s3.completeMultipartUpload(r -> r.bucket("files").key(key).uploadId(uploadId)
        .mpuObjectSize(1L).multipartUpload(m -> m.parts(named(1, p1), named(3, p3)))));
    // documents that are not a completion's
    String part1 = "<Part><PartNumber>1</PartNumber><ETag>" + p1.eTag() + "</ETag></Part>";
    for (String document : List.of("", "not xml", "<CompleteMultipartUpload></CompleteMultipartUpload>",
        "<CompleteMultipartUpload>" + part1, "<Other>" + part1 + "</Other>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
        "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            + "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&x;</ETag></Part>"
            + "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload>" + part1 + "</CompleteMultipartUpload><trailing/>")) {
      Answer answer = signed(SdkHttpMethod.POST, "files/" + key + "?uploadId=" + uploadId,
          document.getBytes(StandardCharsets.UTF_8));
      assertEquals(400, answer.status(), document + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>MalformedXML</Code>") || answer.body().contains(
          "<Code>InvalidArgument</Code>"), document + ": " + answer.body());
    }
    // a document signed for other bytes than it has
    Answer tampered = signed(SdkHttpMethod.POST, "files/" + key + "?uploadId=" + uploadId,
        ("<CompleteMultipartUpload>" + part1 + "</CompleteMultipartUpload>").getBytes(StandardCharsets.UTF_8),
        body -> new String(body, StandardCharsets.UTF_8).replace(">1<", ">2<").getBytes(StandardCharsets.UTF_8));
    assertEquals(400, tampered.status(), tampered.body());
    assertTrue(tampered.body().contains("<Code>XAmzContentSHA256Mismatch</Code>"), tampered.body());
    // none of them wrote anything: no object, the upload and its three parts as they were
    assertEquals(0, rows("received_objects"));
    assertEquals(3, s3.listParts(r -> r.bucket("files").key(key).uploadId(uploadId)).parts().size());
    assertEquals(big.length + 3 + 5, used());
    // named right, part 2 left out (the others may be named in any subset, in order)
    CompleteMultipartUploadResponse done = complete(s3, key, uploadId, named(1, p1), named(3, p3));
    assertEquals(multipartEtag(big, "three".getBytes(StandardCharsets.UTF_8)), done.eTag());
    assertNull(done.checksumCRC32(), "an upload without a checksum algorithm has no composite checksum");
    assertEquals(big.length + 5, used());
  }

  /** An answer to a {@link #signed} request. */
  record Answer(int status, String body) {}

  static Answer signed(SdkHttpMethod method, String pathAndQuery, byte[] body) throws IOException {
    return signed(method, pathAndQuery, body, b -> b);
  }

  /**
   * A request signed by the SDK's signer with its body's SHA-256 (as the SDK signs a CompleteMultipartUpload), its body
   * then sent as {@code change} makes it.
   */
  static Answer signed(SdkHttpMethod method, String pathAndQuery, byte[] body,
      java.util.function.UnaryOperator<byte[]> change) throws IOException {
    return signed(node, method, pathAndQuery, body, change);
  }

  /** {@link #signed}, to another test's node. */
  static Answer signed(TestNode node, SdkHttpMethod method, String pathAndQuery, byte[] body,
      java.util.function.UnaryOperator<byte[]> change) throws IOException {
    return signed(node, method, pathAndQuery, body, change, Map.of());
  }

  /** {@link #signed}, with more headers, signed too. */
  static Answer signed(TestNode node, SdkHttpMethod method, String pathAndQuery, byte[] body,
      java.util.function.UnaryOperator<byte[]> change, Map<String, String> headers) throws IOException {
    URI uri = URI.create(node.endpoint().toString().replace("http:", "https:") + S3Api.PATH + "/" + pathAndQuery);
    SdkHttpFullRequest.Builder built = SdkHttpFullRequest.builder().method(method).uri(uri)
        .putHeader("Content-Length", Integer.toString(body.length));
    headers.forEach(built::putHeader);
    SdkHttpFullRequest request = built.build();
    SignedRequest signedRequest = AwsV4HttpSigner.create().sign(r -> r
        .identity(AwsCredentialsIdentity.create(TestNode.ACCESS_KEY, TestNode.SECRET)).request(request)
        .payload(ContentStreamProvider.fromByteArray(body))
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"));
    byte[] sent = change.apply(body);
    try (SdkHttpClient http = UrlConnectionHttpClient.create()) {
      HttpExecuteResponse r = http.prepareRequest(HttpExecuteRequest.builder()
          .request(signedRequest.request().toBuilder().protocol("http").build())
          .contentStreamProvider(() -> new ByteArrayInputStream(sent)).build()).call();
      return new Answer(r.httpResponse().statusCode(), r.responseBody().isPresent()
          ? new String(r.responseBody().get().readAllBytes(), StandardCharsets.UTF_8) : "");
    }
  }

  @Test
  void anUploadIsItsAccountsAndItsKeysAndIsGoneOnceAborted() {
    String key = "mine";
    String uploadId = create(key);
    UploadPartResponse p1 = part(s3, key, uploadId, 1, "part".getBytes(StandardCharsets.UTF_8));
    try (S3Client theirs = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      refused(404, "NoSuchUpload", () -> part(theirs, key, uploadId, 2, new byte[] {2}));
      refused(404, "NoSuchUpload", () -> theirs.listParts(r -> r.bucket("files").key(key).uploadId(uploadId)));
      refused(404, "NoSuchUpload", () -> complete(theirs, key, uploadId, named(1, p1)));
      refused(404, "NoSuchUpload", () -> theirs.abortMultipartUpload(r -> r.bucket("files").key(key)
          .uploadId(uploadId)));
    }
    // the same account, another key
    refused(404, "NoSuchUpload", () -> part(s3, "other-key", uploadId, 2, new byte[] {2}));
    refused(404, "NoSuchUpload", () -> s3.abortMultipartUpload(r -> r.bucket("files").key("other-key")
        .uploadId(uploadId)));
    refused(404, "NoSuchUpload", () -> part(s3, key, "made-up", 1, new byte[] {2}));
    // part numbers S3 does not have
    for (int number : new int[] {0, 10_001}) {
      refused(400, "InvalidArgument", () -> part(s3, key, uploadId, number, new byte[] {2}));
    }
    assertEquals(1, s3.listParts(r -> r.bucket("files").key(key).uploadId(uploadId)).parts().size());
    assertEquals(4, used());
    // aborted: its parts go, and what they held
    s3.abortMultipartUpload(r -> r.bucket("files").key(key).uploadId(uploadId));
    assertEquals(0, rows("multipart_parts"));
    assertEquals(0, used());
    refused(404, "NoSuchUpload", () -> part(s3, key, uploadId, 2, new byte[] {2}));
    refused(404, "NoSuchUpload", () -> s3.abortMultipartUpload(r -> r.bucket("files").key(key).uploadId(uploadId)));
    refused(404, "NoSuchUpload", () -> complete(s3, key, uploadId, named(1, p1)));
    assertEquals(0, rows("received_objects"));
  }

  @Test
  void checksumsAndLimits() {
    // an upload created with a checksum algorithm needs it on each part
    String key = "checked";
    String uploadId = s3.createMultipartUpload(r -> r.bucket("files").key(key)
        .checksumAlgorithm(ChecksumAlgorithm.SHA256)).uploadId();
    refused(400, "InvalidRequest", () -> part(s3, key, uploadId, 1, new byte[] {1})); // the SDK's CRC32
    try (S3Client bare = S3Client.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1).httpClient(UrlConnectionHttpClient.create())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build()) {
      refused(400, "InvalidRequest", () -> part(bare, key, uploadId, 1, new byte[] {1}));
    }
    UploadPartResponse sha = s3.uploadPart(r -> r.bucket("files").key(key).uploadId(uploadId).partNumber(1)
        .checksumAlgorithm(ChecksumAlgorithm.SHA256), RequestBody.fromBytes(new byte[] {1}));
    assertTrue(sha.checksumSHA256() != null);
    // a part's bad checksum
    refused(400, "BadDigest", () -> s3.uploadPart(r -> r.bucket("files").key(key).uploadId(uploadId).partNumber(2)
        .checksumSHA256(sha.checksumSHA256()), RequestBody.fromBytes(new byte[] {2})));
    // a completion naming a part by another checksum than its own
    CompletedPart wrong = CompletedPart.builder().partNumber(1).eTag(sha.eTag())
        .checksumSHA256(Base64.getEncoder().encodeToString(new byte[32])).build();
    refused(400, "InvalidPart", () -> complete(s3, key, uploadId, wrong));
    // checksum types S3 does not pair with their algorithms
    refused(400, "InvalidRequest", () -> s3.createMultipartUpload(r -> r.bucket("files").key("t")
        .checksumAlgorithm(ChecksumAlgorithm.SHA256).checksumType(ChecksumType.FULL_OBJECT)));
    refused(400, "InvalidRequest", () -> s3.createMultipartUpload(r -> r.bucket("files").key("t")
        .checksumAlgorithm(ChecksumAlgorithm.CRC64_NVME).checksumType(ChecksumType.COMPOSITE)));
    refused(400, "InvalidRequest", () -> s3.createMultipartUpload(r -> r.bucket("files").key("t")
        .checksumType(ChecksumType.FULL_OBJECT)));
    // a part copied from an object that is not there (UploadPartCopy: S3MultipartObjectsTest)
    refused(404, "NoSuchKey", () -> s3.uploadPartCopy(r -> r.sourceBucket("files").sourceKey("x")
        .destinationBucket("files").destinationKey(key).uploadId(uploadId).partNumber(3)));
  }

  /**
   * A full-object checksum (FULL_OBJECT; CRC64NVME's only type) is the CRC of the whole object, made from its parts'
   * CRCs and lengths: answered by the completion, and checked against the one the client gives before anything is
   * written.
   */
  @Test
  void fullObjectChecksumsAreTheWholeObjectsCrc() throws Exception {
    byte[] a = random(5 * MIB + 1, 11);
    byte[] b = random(300_000, 12);
    byte[] whole = new byte[a.length + b.length];
    System.arraycopy(a, 0, whole, 0, a.length);
    System.arraycopy(b, 0, whole, a.length, b.length);
    for (ChecksumAlgorithm algorithm : List.of(ChecksumAlgorithm.CRC32, ChecksumAlgorithm.CRC32_C,
        ChecksumAlgorithm.CRC64_NVME)) {
      String name = algorithm.toString().replace("_", "").toLowerCase(java.util.Locale.ROOT);
      String key = "full-" + name;
      String uploadId = s3.createMultipartUpload(r -> r.bucket("files").key(key).checksumAlgorithm(algorithm)
          .checksumType(algorithm == ChecksumAlgorithm.CRC64_NVME ? null : ChecksumType.FULL_OBJECT)).uploadId();
      List<CompletedPart> parts = List.of(fullPart(key, uploadId, 1, a, algorithm),
          fullPart(key, uploadId, 2, b, algorithm));
      String expected = Checksums.of(name, whole);
      // a client's full-object checksum that is not the parts' is BadDigest, and writes nothing
      String wrong = Checksums.of(name, a);
      refused(400, "BadDigest", () -> s3.completeMultipartUpload(r -> fullChecksum(r.bucket("files").key(key)
          .uploadId(uploadId).checksumType(ChecksumType.FULL_OBJECT).multipartUpload(m -> m.parts(parts)),
          algorithm, wrong)));
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = '" + key + "'"));
      CompleteMultipartUploadResponse done = s3.completeMultipartUpload(r -> fullChecksum(r.bucket("files").key(key)
          .uploadId(uploadId).checksumType(ChecksumType.FULL_OBJECT).multipartUpload(m -> m.parts(parts)),
          algorithm, expected));
      assertEquals(ChecksumType.FULL_OBJECT, done.checksumType(), name);
      String answered = switch (name) {
        case "crc32" -> done.checksumCRC32();
        case "crc32c" -> done.checksumCRC32C();
        default -> done.checksumCRC64NVME();
      };
      assertEquals(expected, answered, name);
      assertArrayEquals(whole, read(key));
    }
  }

  private UploadPartResponse partWithChecksum(String key, String uploadId, int number, byte[] content,
      ChecksumAlgorithm algorithm) {
    return s3.uploadPart(r -> r.bucket("files").key(key).uploadId(uploadId).partNumber(number)
        .checksumAlgorithm(algorithm), RequestBody.fromBytes(content));
  }

  private CompletedPart fullPart(String key, String uploadId, int number, byte[] content,
      ChecksumAlgorithm algorithm) {
    UploadPartResponse put = partWithChecksum(key, uploadId, number, content, algorithm);
    return CompletedPart.builder().partNumber(number).eTag(put.eTag()).checksumCRC32(put.checksumCRC32())
        .checksumCRC32C(put.checksumCRC32C()).checksumCRC64NVME(put.checksumCRC64NVME()).build();
  }

  private static software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest.Builder fullChecksum(
      software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest.Builder r, ChecksumAlgorithm algorithm,
      String value) {
    return switch (algorithm) {
      case CRC32 -> r.checksumCRC32(value);
      case CRC32_C -> r.checksumCRC32C(value);
      default -> r.checksumCRC64NVME(value);
    };
  }

  /**
   * ListMultipartUploads: the bucket's uploads under way by key, then by when each was begun, a page at a time from the
   * markers of the page before, within a prefix; the account's own only; a bucket with nothing in it is NoSuchBucket.
   */
  @Test
  void uploadsUnderWayAreListedInS3sOrder() {
    String b1 = create("b");
    String c = s3.createMultipartUpload(r -> r.bucket("files").key("c/x").checksumAlgorithm(ChecksumAlgorithm.CRC32))
        .uploadId();
    String a = create("a");
    String b2 = create("b");
    var all = s3.listMultipartUploads(r -> r.bucket("files"));
    assertEquals(List.of("a", "b", "b", "c/x"), all.uploads().stream().map(u -> u.key()).toList());
    assertEquals(List.of(a, b1, b2, c), all.uploads().stream().map(u -> u.uploadId()).toList());
    assertFalse(all.isTruncated());
    assertEquals(ChecksumAlgorithm.CRC32, all.uploads().get(3).checksumAlgorithm());
    assertTrue(all.uploads().get(0).initiated() != null && all.uploads().get(0).owner().id() != null);
    var first = s3.listMultipartUploads(r -> r.bucket("files").maxUploads(2));
    assertTrue(first.isTruncated());
    assertEquals("b", first.nextKeyMarker());
    assertEquals(b1, first.nextUploadIdMarker());
    var rest = s3.listMultipartUploads(r -> r.bucket("files").maxUploads(2).keyMarker(first.nextKeyMarker())
        .uploadIdMarker(first.nextUploadIdMarker()));
    assertEquals(List.of(b2, c), rest.uploads().stream().map(u -> u.uploadId()).toList());
    assertFalse(rest.isTruncated());
    assertEquals(List.of(c), s3.listMultipartUploads(r -> r.bucket("files").prefix("c/")).uploads().stream()
        .map(u -> u.uploadId()).toList());
    assertEquals(List.of(c), s3.listMultipartUploads(r -> r.bucket("files").keyMarker("b")).uploads().stream()
        .map(u -> u.uploadId()).toList());

    // with a delimiter: the uploads of keys that have it past the prefix, one common prefix each, after the uploads
    String c2 = create("c/y");
    String d = create("d/e/1");
    var grouped = s3.listMultipartUploads(r -> r.bucket("files").delimiter("/"));
    assertEquals(List.of(a, b1, b2), grouped.uploads().stream().map(u -> u.uploadId()).toList());
    assertEquals(List.of("c/", "d/"), grouped.commonPrefixes().stream().map(p -> p.prefix()).toList());
    assertEquals("/", grouped.delimiter());
    assertFalse(grouped.isTruncated());
    // a page that ends on a prefix names it as the next key marker, and the next page lists on past it
    var upToC = s3.listMultipartUploads(r -> r.bucket("files").delimiter("/").maxUploads(4));
    assertTrue(upToC.isTruncated());
    assertEquals("c/", upToC.nextKeyMarker());
    assertEquals(List.of("c/"), upToC.commonPrefixes().stream().map(p -> p.prefix()).toList());
    var afterC = s3.listMultipartUploads(r -> r.bucket("files").delimiter("/").maxUploads(4).keyMarker("c/"));
    assertEquals(List.of("d/"), afterC.commonPrefixes().stream().map(p -> p.prefix()).toList());
    assertTrue(afterC.uploads().isEmpty());
    assertFalse(afterC.isTruncated());
    var underD = s3.listMultipartUploads(r -> r.bucket("files").prefix("d/").delimiter("/"));
    assertEquals(List.of("d/e/"), underD.commonPrefixes().stream().map(p -> p.prefix()).toList());
    var underC = s3.listMultipartUploads(r -> r.bucket("files").prefix("c/").delimiter("/"));
    assertEquals(List.of(c, c2), underC.uploads().stream().map(u -> u.uploadId()).toList());
    assertTrue(underC.commonPrefixes().isEmpty());
    // a delimiter of more than one character, and one no key has
    assertEquals(List.of("d/e/"), s3.listMultipartUploads(r -> r.bucket("files").delimiter("e/")).commonPrefixes()
        .stream().map(p -> p.prefix()).toList());
    assertEquals(6, s3.listMultipartUploads(r -> r.bucket("files").delimiter("#")).uploads().size());
    s3.abortMultipartUpload(r -> r.bucket("files").key("c/y").uploadId(c2));
    s3.abortMultipartUpload(r -> r.bucket("files").key("d/e/1").uploadId(d));

    refused(400, "InvalidArgument", () -> s3.listMultipartUploads(r -> r.bucket("files").maxUploads(-1)));
    refused(404, "NoSuchBucket", () -> s3.listMultipartUploads(r -> r.bucket("nothing-here")));
    try (S3Client theirs = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      refused(404, "NoSuchBucket", () -> theirs.listMultipartUploads(r -> r.bucket("files")));
    }
    // completed or aborted, an upload is no longer listed
    s3.abortMultipartUpload(r -> r.bucket("files").key("a").uploadId(a));
    assertEquals(3, s3.listMultipartUploads(r -> r.bucket("files")).uploads().size());
  }

  @Test
  void partsCountInWhatTheAccountMayKeepAndUploadsAreBounded() throws Exception {
    String key = "heavy";
    String uploadId = create(key);
    for (int n = 1; n <= 3; n++) {
      part(s3, key, uploadId, n, random(6 * MIB, n));
    }
    S3Exception full = refused(400, "EntityTooLarge", () -> part(s3, key, uploadId, 4, random(6 * MIB, 4)));
    assertTrue(full.getMessage().contains("abort uploads"), full.getMessage());
    assertEquals(18 * MIB, used());
    // a part replaced counts for what it grows only
    part(s3, key, uploadId, 3, random(7 * MIB, 5));
    assertEquals(19 * MIB, used());
    s3.abortMultipartUpload(r -> r.bucket("files").key(key).uploadId(uploadId));
    assertEquals(0, used());

    // an account has at most 1,000 uploads under way
    Db.execute(pg, "INSERT INTO multipart_uploads (account_id, upload_id, bucket, object_key, created_at) "
        + "SELECT '" + other.accountId() + "', 'u' || n, 'files', 'k', now() FROM generate_series(1, "
        + (Multipart.MAX_UPLOADS_PER_ACCOUNT - 1) + ") n");
    try (S3Client theirs = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      theirs.createMultipartUpload(r -> r.bucket("files").key("last"));
      S3Exception many = refused(400, "InvalidRequest", () -> theirs.createMultipartUpload(r -> r.bucket("files")
          .key("one-more")));
      assertTrue(many.getMessage().contains("1000 multipart uploads"), many.getMessage());
    }
    // the default account's are its own
    create("still");
  }

  /** The retention sweep of multipart uploads, as it runs now: how many it deleted. */
  static long sweep(Pool pool, int batch) {
    Instant now = Instant.now();
    return RetentionVerticle.sweepUploads(pool, now.minus(RetentionVerticle.MULTIPART_UPLOAD_LIFETIME),
        now.minus(RetentionVerticle.COMPLETED_UPLOAD_KEPT), batch).await();
  }

  /**
   * The store's own limit on an upload's parts (the object they make: 32 MiB through the API, too many bytes for a
   * test to send), and the retention sweep of uploads nobody completed nor aborted.
   */
  @Test
  void anUploadHoldsNoMoreThanAnObjectAndAbandonedUploadsAreSwept() {
    String uploadId = create("abandoned");
    part(s3, "abandoned", uploadId, 1, new byte[100]);
    String account = Db.string(pg, "SELECT account_id FROM multipart_uploads WHERE upload_id = '" + uploadId + "'");
    Pool pool = Database.pool(node.vertx(), node.config(), 1);
    try {
      MultipartStore store = new MultipartStore(pool);
      MultipartStore.PartWrite over = store.putPart(account, uploadId, "files", "abandoned", 2,
          Buffer.buffer(new byte[60]), null, 150, 0, Instant.now()).await();
      assertEquals(MultipartStore.Outcome.UPLOAD_TOO_LARGE, over.outcome());
      assertEquals(100, over.bytes());
      // part 1 replaced by one of 150 bytes: the other parts (none) and it fit
      assertEquals(MultipartStore.Outcome.STORED, store.putPart(account, uploadId, "files", "abandoned", 1,
          Buffer.buffer(new byte[150]), null, 150, 0, Instant.now()).await().outcome());
      assertEquals(150, used());

      // a week old: swept with its parts; a newer one stays
      String recent = create("recent");
      Db.execute(pg, "UPDATE multipart_uploads SET created_at = now() - interval '8 days' WHERE upload_id = '"
          + uploadId + "'");
      long swept = sweep(pool, 1);
      assertEquals(1, swept);
      assertEquals(0, used());
      assertEquals(0, rows("multipart_parts"));
      assertEquals(1, rows("multipart_uploads"));
      assertTrue(s3.listParts(r -> r.bucket("files").key("recent").uploadId(recent)).parts().isEmpty());
      refused(404, "NoSuchUpload", () -> s3.listParts(r -> r.bucket("files").key("abandoned").uploadId(uploadId)));

      // a completed upload is kept an hour, for a completion retried; then it goes too
      UploadPartResponse p = part(s3, "recent", recent, 1, new byte[] {7});
      complete(s3, "recent", recent, named(1, p));
      assertEquals(0, sweep(pool, 10));
      complete(s3, "recent", recent, named(1, p));
      Db.execute(pg, "UPDATE multipart_uploads SET completed_at = now() - interval '2 hours' WHERE upload_id = '"
          + recent + "'");
      assertEquals(1, sweep(pool, 10));
      refused(404, "NoSuchUpload", () -> complete(s3, "recent", recent, named(1, p)));
      assertEquals(1, read("recent").length);
    } finally {
      pool.close();
    }
  }
}
