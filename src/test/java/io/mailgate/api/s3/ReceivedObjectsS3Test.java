package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.SdkGlobalTime;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Received mail read back through the S3 API with the AWS SDK's own {@code S3Client}, pointed at the node with only
 * its endpoint changed: objects, listings, deletion, S3's errors, and each account seeing only its own buckets. The
 * objects are written with SQL, as the receiving side stores them.
 */
class ReceivedObjectsS3Test {
  static TestNode node;
  static String pg;
  static String account;
  static Accounts.NewKey other;
  static S3Client s3;
  static S3Client otherS3;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    node = TestNode.start("");
    pg = node.config().get(MailgateConfig.PG_URL);
    account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    // The test database sorts text by code point (C.UTF-8), as S3 sorts keys; a database created with a language's
    // collation (en_US.UTF-8, say) does not, and the listing must not depend on it.
    Db.execute(pg, "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'en-x-icu') THEN "
        + "ALTER TABLE received_objects ALTER COLUMN object_key TYPE text COLLATE \"en-x-icu\"; END IF; END $$");
    other = node.createAccount("s3-other", true, 10, 1000);
    s3 = client(TestNode.ACCESS_KEY, TestNode.SECRET);
    otherS3 = client(other.accessKeyId(), other.secretAccessKey());
  }

  @AfterAll
  static void stop() {
    s3.close();
    otherS3.close();
    node.close();
  }

  static URI endpoint() {
    return URI.create(node.endpoint() + S3Api.PATH);
  }

  static S3Client client(String key, String secret) {
    return client(node, key, secret, 1);
  }

  /** The SDK's S3 client as a user configures it for Mailgate ({@link TestNode#s3}). */
  static S3Client client(TestNode on, String key, String secret, int attempts) {
    return on.s3(key, secret, attempts);
  }

  static void put(String accountId, String bucket, String key, byte[] content, Instant createdAt) {
    Db.execute(pg, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
        + "VALUES (?, ?, ?, ?, ?, ?)", accountId, bucket, key, "msg-" + key.hashCode(), content, createdAt);
  }

  static void put(String bucket, String key, String content) {
    put(account, bucket, key, content.getBytes(StandardCharsets.UTF_8), Instant.now());
  }

  static String md5(byte[] content) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(content));
  }

  /** A received message of about {@code size} bytes: headers, then lines of random text. */
  static byte[] message(int size, long seed) {
    StringBuilder b = new StringBuilder(size + 100).append("From: a@example.com\r\nTo: inbox@mail.example\r\n"
        + "Subject: received\r\n\r\n");
    Random random = new Random(seed);
    while (b.length() < size) {
      for (int i = 0; i < 76; i++) {
        b.append((char) ('a' + random.nextInt(26)));
      }
      b.append("\r\n");
    }
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  static S3Exception refused(int status, String code, Runnable call) {
    S3Exception e = assertThrows(S3Exception.class, call::run);
    assertEquals(status, e.statusCode(), e.toString());
    if (code != null) {
      assertEquals(code, e.awsErrorDetails().errorCode(), e.toString());
    }
    return e;
  }

  static List<String> keys(ListObjectsV2Response r) {
    return r.contents().stream().map(S3Object::key).toList();
  }

  static HttpResponse<String> raw(String method, String path, Consumer<HttpRequest.Builder> more) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.endpoint() + path))
        .method(method, HttpRequest.BodyPublishers.noBody());
    more.accept(b);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A request as written, for what HttpClient would not send; the whole response as text. */
  static String rawRequest(String request) throws Exception {
    try (java.net.Socket socket = new java.net.Socket(node.endpoint().getHost(), node.endpoint().getPort())) {
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void getObjectReturnsTheMessageAsStoredWithItsMetadata() throws Exception {
    byte[] content = message(3 * 1024 * 1024, 1);
    Instant received = Instant.parse("2025-03-04T05:06:07.890Z");
    put(account, "get-bucket", "mail/0000018e-aaaa", content, received);

    ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(r -> r.bucket("get-bucket").key("mail/0000018e-aaaa"));
    assertArrayEquals(content, got.asByteArray());
    GetObjectResponse meta = got.response();
    assertEquals(content.length, meta.contentLength());
    assertEquals("application/octet-stream", meta.contentType());
    assertEquals("\"" + md5(content) + "\"", meta.eTag());
    assertEquals(received.truncatedTo(ChronoUnit.SECONDS), meta.lastModified());
    assertEquals("bytes", meta.acceptRanges());

    HeadObjectResponse head = s3.headObject(r -> r.bucket("get-bucket").key("mail/0000018e-aaaa"));
    assertEquals(content.length, head.contentLength());
    assertEquals(meta.eTag(), head.eTag());
    assertEquals(meta.lastModified(), head.lastModified());
    assertEquals("application/octet-stream", head.contentType());
    assertEquals(List.of(meta.eTag()), s3.listObjectsV2(r -> r.bucket("get-bucket").prefix("mail/0000018e-aaaa"))
        .contents().stream().map(S3Object::eTag).toList(), "listings carry the ETag too");

    HttpResponse<String> presigned = http.send(HttpRequest.newBuilder(presign("get-bucket", "mail/0000018e-aaaa",
        Duration.ofMinutes(5))).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(403, presigned.statusCode(), "a URL presigned for GET does not sign a HEAD");
    HttpResponse<byte[]> viaUrl = http.send(HttpRequest.newBuilder(presign("get-bucket", "mail/0000018e-aaaa",
        Duration.ofMinutes(5))).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, viaUrl.statusCode());
    // RFC 1123's fixed-length form: the day with two digits
    assertEquals("Tue, 04 Mar 2025 05:06:07 GMT", viaUrl.headers().firstValue("Last-Modified").orElseThrow());
    assertArrayEquals(content, viaUrl.body());
  }

  /**
   * A GET takes the node's read budget for the object's size (or its range's) before the content is read: refused
   * (SlowDown) when the budget has no room for it, and given back once answered, refused or not.
   */
  @Test
  void aGetTakesTheReadBudgetForWhatItWillHold() throws Exception {
    byte[] content = message(200_000, 7);
    put(account, "budget-bucket", "big", content, Instant.now());
    io.mailgate.ByteBudget reads = (io.mailgate.ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http")
        .get("s3-reads");
    long room = 100_000;
    long taken = reads.max() - room - reads.held();
    assertTrue(reads.take(taken));
    try {
      S3Exception slow = assertThrows(S3Exception.class,
          () -> s3.getObjectAsBytes(r -> r.bucket("budget-bucket").key("big")));
      assertEquals(503, slow.statusCode());
      assertEquals("SlowDown", slow.awsErrorDetails().errorCode());
      byte[] part = s3.getObjectAsBytes(r -> r.bucket("budget-bucket").key("big").range("bytes=1000-50999"))
          .asByteArray();
      assertArrayEquals(java.util.Arrays.copyOfRange(content, 1000, 51000), part, "a range takes only its length");
      io.mailgate.testing.Await.until(() -> reads.held() == taken, Duration.ofSeconds(5));
    } finally {
      reads.release(taken);
    }
    assertArrayEquals(content, s3.getObjectAsBytes(r -> r.bucket("budget-bucket").key("big")).asByteArray());
    io.mailgate.testing.Await.until(() -> reads.held() == 0, Duration.ofSeconds(5));
  }

  /**
   * The budget holds an object until it has gone to the socket, not until it is handed to Netty: a client that reads
   * nothing keeps it in the node's memory, and a thousand of them held gigabytes while the budget read as free.
   */
  @Test
  void aGetHoldsTheReadBudgetUntilTheContentIsWritten() throws Exception {
    byte[] content = message(24 * 1024 * 1024, 11);
    put(account, "slow-bucket", "huge", content, Instant.now());
    io.mailgate.ByteBudget reads = (io.mailgate.ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http")
        .get("s3-reads");
    URI url = presign("slow-bucket", "huge", Duration.ofMinutes(5));
    try (java.net.Socket s = new java.net.Socket(url.getHost(), url.getPort())) {
      s.setReceiveBufferSize(64 * 1024);
      s.getOutputStream().write(("GET " + url.getRawPath() + "?" + url.getRawQuery() + " HTTP/1.1\r\nHost: "
          + url.getHost() + ":" + url.getPort() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      java.io.InputStream in = s.getInputStream();
      byte[] start = in.readNBytes(12);
      assertEquals("HTTP/1.1 200", new String(start, StandardCharsets.US_ASCII));
      Thread.sleep(1000); // the node has handed the whole response over; the client reads no more meanwhile
      assertEquals(content.length, reads.held(), "held while it waits for the client");
    }
    // the client gone, the write fails and what it held is given back
    io.mailgate.testing.Await.until(() -> reads.held() == 0, Duration.ofSeconds(10));
  }

  static URI presign(String bucket, String key, Duration valid) throws Exception {
    try (S3Presigner presigner = S3Presigner.builder().endpointOverride(endpoint()).region(Region.US_EAST_1)
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).build()) {
      return presigner.presignGetObject(r -> r.signatureDuration(valid).getObjectRequest(g -> g.bucket(bucket)
          .key(key).responseContentDisposition("attachment; filename=\"mail.eml\""))).url().toURI();
    }
  }

  /**
   * The console shares this origin (S3 has one of its own): a stored message served as a page, through a presigned
   * link that asks for text/html, runs no script.
   */
  @Test
  void aMessageServedAsHtmlRunsNothing() throws Exception {
    put("html-bucket", "page", "Subject: x\r\n\r\n<script>fetch('/_mailgate/console')</script>\r\n");
    URI url;
    try (S3Presigner presigner = S3Presigner.builder().endpointOverride(endpoint()).region(Region.US_EAST_1)
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).build()) {
      url = presigner.presignGetObject(r -> r.signatureDuration(Duration.ofMinutes(5)).getObjectRequest(g -> g
          .bucket("html-bucket").key("page").responseContentType("text/html"))).url().toURI();
    }
    HttpResponse<String> page = http.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertEquals("text/html", page.headers().firstValue("Content-Type").orElseThrow());
    assertEquals("default-src 'none'; sandbox", page.headers().firstValue("Content-Security-Policy").orElseThrow());
    assertEquals("nosniff", page.headers().firstValue("X-Content-Type-Options").orElseThrow());
  }

  @Test
  void presignedUrlReadsTheObjectAndATamperedOneDoesNot() throws Exception {
    put("presigned-bucket", "in/msg 1", "Subject: presigned\r\n\r\nbody\r\n");
    URI url = presign("presigned-bucket", "in/msg 1", Duration.ofMinutes(5));
    HttpResponse<String> ok = http.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals("Subject: presigned\r\n\r\nbody\r\n", ok.body());
    assertEquals("attachment; filename=\"mail.eml\"", ok.headers().firstValue("Content-Disposition").orElseThrow(),
        "the signed response-content-disposition sets the header");

    URI otherKey = URI.create(url.toString().replace("msg%201", "msg%202"));
    HttpResponse<String> tampered = http.send(HttpRequest.newBuilder(otherKey).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(403, tampered.statusCode());
    assertTrue(tampered.body().contains("<Code>SignatureDoesNotMatch</Code>"), tampered.body());
  }

  @Test
  void aSingleRangeIsAnsweredWithPartialContent() throws Exception {
    byte[] content = message(200_000, 2);
    put(account, "range-bucket", "big", content, Instant.now());
    int n = content.length;

    ResponseBytes<GetObjectResponse> middle = s3.getObjectAsBytes(r -> r.bucket("range-bucket").key("big")
        .range("bytes=100-199"));
    assertArrayEquals(java.util.Arrays.copyOfRange(content, 100, 200), middle.asByteArray());
    assertEquals("bytes 100-199/" + n, middle.response().contentRange());
    assertEquals(100L, middle.response().contentLength());
    assertEquals("\"" + md5(content) + "\"", middle.response().eTag(), "the ETag is the whole object's");

    ResponseBytes<GetObjectResponse> suffix = s3.getObjectAsBytes(r -> r.bucket("range-bucket").key("big")
        .range("bytes=-10"));
    assertArrayEquals(java.util.Arrays.copyOfRange(content, n - 10, n), suffix.asByteArray());
    assertEquals("bytes " + (n - 10) + "-" + (n - 1) + "/" + n, suffix.response().contentRange());

    ResponseBytes<GetObjectResponse> open = s3.getObjectAsBytes(r -> r.bucket("range-bucket").key("big")
        .range("bytes=" + (n - 3) + "-"));
    assertArrayEquals(java.util.Arrays.copyOfRange(content, n - 3, n), open.asByteArray());

    ResponseBytes<GetObjectResponse> pastTheEnd = s3.getObjectAsBytes(r -> r.bucket("range-bucket").key("big")
        .range("bytes=" + (n - 2) + "-" + (n + 1000)));
    assertEquals(2, pastTheEnd.asByteArray().length);

    S3Exception past = refused(416, "InvalidRange", () -> s3.getObjectAsBytes(r -> r.bucket("range-bucket")
        .key("big").range("bytes=" + n + "-")));
    assertEquals(List.of("bytes */" + n), past.awsErrorDetails().sdkHttpResponse().headers().get("Content-Range"),
        "RFC 9110 15.5.17: a 416 says the size");

    // HeadObject takes the Range as GetObject does (S3's HeadObject)
    var head = s3.headObject(r -> r.bucket("range-bucket").key("big").range("bytes=100-199"));
    assertEquals(100L, head.contentLength());
    assertEquals("bytes 100-199/" + n, head.contentRange());
    assertEquals((long) n, s3.headObject(r -> r.bucket("range-bucket").key("big")).contentLength());
    refused(416, null, () -> s3.headObject(r -> r.bucket("range-bucket").key("big").range("bytes=" + n + "-")));

    refused(416, "InvalidRange", () -> s3.getObjectAsBytes(r -> r.bucket("range-bucket").key("big")
        .range("bytes=3000000000-"))); // an offset past 2^31: not an integer overflow in the query

    // several ranges: the whole object, as S3 answers them
    ResponseBytes<GetObjectResponse> several = s3.getObjectAsBytes(r -> r.bucket("range-bucket").key("big")
        .range("bytes=0-1,5-6"));
    assertEquals(n, several.asByteArray().length);
    assertNull(several.response().contentRange());
  }

  @Test
  void listObjectsV2FiltersByPrefixAndPagesWithContinuationTokens() {
    Instant at = Instant.parse("2025-01-02T03:04:05.678Z");
    for (String key : List.of("inbox/c", "inbox/a", "inbox/b", "inbox/d", "inbox/e", "archive/a", "inboxed")) {
      put(account, "list-bucket", key, ("content of " + key).getBytes(StandardCharsets.UTF_8), at);
    }

    ListObjectsV2Response all = s3.listObjectsV2(r -> r.bucket("list-bucket").prefix("inbox/"));
    assertEquals(List.of("inbox/a", "inbox/b", "inbox/c", "inbox/d", "inbox/e"), keys(all));
    assertEquals(5, all.keyCount());
    assertFalse(all.isTruncated());
    assertNull(all.nextContinuationToken());
    assertEquals("list-bucket", all.name());
    assertEquals("inbox/", all.prefix());
    assertEquals(1000, all.maxKeys());
    S3Object a = all.contents().get(0);
    assertEquals("content of inbox/a".length(), a.size());
    assertEquals(at.truncatedTo(ChronoUnit.MILLIS), a.lastModified());
    assertEquals("STANDARD", a.storageClassAsString());

    List<String> paged = new ArrayList<>();
    String token = null;
    int pages = 0;
    do {
      String t = token;
      ListObjectsV2Response page = s3.listObjectsV2(r -> r.bucket("list-bucket").prefix("inbox/").maxKeys(2)
          .continuationToken(t));
      assertEquals(2, page.maxKeys());
      assertEquals(page.contents().size(), page.keyCount());
      assertEquals(page.nextContinuationToken() != null, page.isTruncated());
      paged.addAll(keys(page));
      token = page.nextContinuationToken();
      pages++;
    } while (token != null);
    assertEquals(keys(all), paged);
    assertEquals(3, pages, "2 + 2 + 1");

    List<String> viaPaginator = s3.listObjectsV2Paginator(r -> r.bucket("list-bucket").maxKeys(3)).contents()
        .stream().map(S3Object::key).toList();
    assertEquals(List.of("archive/a", "inbox/a", "inbox/b", "inbox/c", "inbox/d", "inbox/e", "inboxed"),
        viaPaginator);

    assertEquals(List.of("inbox/c", "inbox/d"), keys(s3.listObjectsV2(r -> r.bucket("list-bucket")
        .prefix("inbox/").startAfter("inbox/b").maxKeys(2))));
    assertEquals(List.of(), keys(s3.listObjectsV2(r -> r.bucket("list-bucket").prefix("nothing/"))),
        "a prefix nothing starts with lists nothing");

    refused(400, "InvalidArgument", () -> s3.listObjectsV2(r -> r.bucket("list-bucket")
        .continuationToken("not a token!")));
    refused(400, "InvalidArgument", () -> s3.listObjectsV2(r -> r.bucket("list-bucket").maxKeys(-1)));
  }

  @Test
  void maxKeysIsAThousandByDefaultAndAtMost() {
    Db.execute(pg, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
        + "SELECT ?, 'many', 'k' || lpad(i::text, 5, '0'), 'm' || i, '\\x00'::bytea, now() "
        + "FROM generate_series(1, 1005) i", account);
    ListObjectsV2Response first = s3.listObjectsV2(r -> r.bucket("many"));
    assertEquals(1000, first.keyCount());
    assertEquals(1000, first.maxKeys());
    assertTrue(first.isTruncated());
    assertEquals("k01000", first.contents().get(999).key());

    ListObjectsV2Response asked = s3.listObjectsV2(r -> r.bucket("many").maxKeys(5000));
    assertEquals(1000, asked.keyCount());
    ListObjectsV2Response rest = s3.listObjectsV2(r -> r.bucket("many")
        .continuationToken(asked.nextContinuationToken()));
    assertEquals(List.of("k01001", "k01002", "k01003", "k01004", "k01005"), keys(rest));
    assertFalse(rest.isTruncated());

    ListObjectsV2Response none = s3.listObjectsV2(r -> r.bucket("many").maxKeys(0));
    assertEquals(0, none.keyCount());
  }

  @Test
  void aDelimiterGroupsKeysIntoCommonPrefixesAcrossPages() {
    for (String key : List.of("2025/01/a", "2025/01/b", "2025/02/a", "2026/x", "readme", "zz/1")) {
      put("delimited", key, key);
    }
    ListObjectsV2Response top = s3.listObjectsV2(r -> r.bucket("delimited").delimiter("/"));
    assertEquals(List.of("readme"), keys(top));
    assertEquals(List.of("2025/", "2026/", "zz/"), top.commonPrefixes().stream().map(CommonPrefix::prefix).toList());
    assertEquals(4, top.keyCount());
    assertEquals("/", top.delimiter());

    ListObjectsV2Response months = s3.listObjectsV2(r -> r.bucket("delimited").prefix("2025/").delimiter("/"));
    assertEquals(List.of("2025/01/", "2025/02/"), months.commonPrefixes().stream().map(CommonPrefix::prefix).toList());
    assertEquals(List.of(), keys(months));

    // one entry a page: a common prefix counts once, and the next page starts past all of its keys
    List<String> entries = new ArrayList<>();
    String token = null;
    for (int pages = 0; pages < 10; pages++) { // bounded: a token that led back into a prefix would loop
      String t = token;
      ListObjectsV2Response page = s3.listObjectsV2(r -> r.bucket("delimited").delimiter("/").maxKeys(1)
          .continuationToken(t));
      assertEquals(1, page.keyCount());
      page.commonPrefixes().forEach(p -> entries.add(p.prefix()));
      entries.addAll(keys(page));
      token = page.nextContinuationToken();
      if (token == null) {
        break;
      }
    }
    assertEquals(List.of("2025/", "2026/", "readme", "zz/"), entries);
  }

  /**
   * ListObjects (v1), as older tools send it: the same pages from after a marker; with a delimiter, NextMarker (a
   * common prefix given back as the marker goes on past its keys), without one the page's last key; owners listed.
   */
  @Test
  void listObjectsV1PagesFromItsMarker() {
    for (String key : List.of("2025/01/a", "2025/01/b", "2025/02/a", "2026/x", "readme", "zz/1")) {
      put("v1", key, key);
    }
    ListObjectsResponse all = s3.listObjects(r -> r.bucket("v1"));
    assertEquals(List.of("2025/01/a", "2025/01/b", "2025/02/a", "2026/x", "readme", "zz/1"),
        all.contents().stream().map(S3Object::key).toList());
    assertFalse(all.isTruncated());
    assertEquals("", all.marker());
    assertNotNull(all.contents().get(0).owner(), "v1 lists the owner of every key");
    assertEquals(account, all.contents().get(0).owner().id());

    // without a delimiter: no NextMarker, the client goes on from the last key
    List<String> paged = new ArrayList<>();
    String marker = null;
    for (int pages = 0; pages < 10; pages++) {
      String m = marker;
      ListObjectsResponse page = s3.listObjects(r -> r.bucket("v1").maxKeys(4).marker(m));
      assertNull(page.nextMarker());
      page.contents().forEach(o -> paged.add(o.key()));
      if (!page.isTruncated()) {
        break;
      }
      marker = page.contents().get(page.contents().size() - 1).key();
    }
    assertEquals(all.contents().stream().map(S3Object::key).toList(), paged);

    // with one: a prefix a page ended on, given back, goes on past all of its keys
    List<String> entries = new ArrayList<>();
    marker = null;
    for (int pages = 0; pages < 10; pages++) { // bounded: a marker that led back into a prefix would loop
      String m = marker;
      ListObjectsResponse page = s3.listObjects(r -> r.bucket("v1").delimiter("/").maxKeys(1).marker(m));
      page.commonPrefixes().forEach(p -> entries.add(p.prefix()));
      page.contents().forEach(o -> entries.add(o.key()));
      if (!page.isTruncated()) {
        assertNull(page.nextMarker());
        break;
      }
      marker = page.nextMarker();
      assertEquals(entries.get(entries.size() - 1), marker);
    }
    assertEquals(List.of("2025/", "2026/", "readme", "zz/"), entries);
    // an empty marker is none; a marker past which nothing is, or between keys
    assertEquals(6, s3.listObjects(r -> r.bucket("v1").marker("")).contents().size());
    assertTrue(s3.listObjects(r -> r.bucket("v1").marker("zz/1")).contents().isEmpty());
    assertEquals(List.of("readme", "zz/1"), s3.listObjects(r -> r.bucket("v1").marker("2026/x")).contents().stream()
        .map(S3Object::key).toList());
    refused(400, "InvalidArgument", () -> s3.listObjects(r -> r.bucket("v1").maxKeys(-1)));
    assertThrows(NoSuchBucketException.class, () -> s3.listObjects(r -> r.bucket("no-such-v1")));
  }

  @Test
  void deleteRemovesTheObjectAndIsIdempotent() {
    put("delete-bucket", "to-delete", "x");
    put("delete-bucket", "stays", "y");
    s3.deleteObject(r -> r.bucket("delete-bucket").key("to-delete"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'to-delete'"));
    refused(404, "NoSuchKey", () -> s3.getObjectAsBytes(r -> r.bucket("delete-bucket").key("to-delete")));
    s3.deleteObject(r -> r.bucket("delete-bucket").key("to-delete")); // again: 204 all the same
    assertEquals("y", s3.getObjectAsBytes(r -> r.bucket("delete-bucket").key("stays")).asUtf8String());
  }

  @Test
  void aMissingKeyIsNoSuchKeyAndAMissingBucketNoSuchBucket() throws Exception {
    put("known-bucket", "present", "x");
    NoSuchKeyException e = assertThrows(NoSuchKeyException.class,
        () -> s3.getObjectAsBytes(r -> r.bucket("known-bucket").key("absent")));
    assertEquals(404, e.statusCode());
    assertEquals("The specified key does not exist.", e.awsErrorDetails().errorMessage());
    assertNotNull(e.requestId());
    assertThrows(NoSuchKeyException.class, () -> s3.headObject(r -> r.bucket("known-bucket").key("absent")));
    assertThrows(NoSuchBucketException.class, () -> s3.getObjectAsBytes(r -> r.bucket("no-such-bucket").key("k")));
    assertThrows(NoSuchBucketException.class, () -> s3.listObjectsV2(r -> r.bucket("no-such-bucket")));
    assertThrows(NoSuchBucketException.class, () -> s3.deleteObject(r -> r.bucket("no-such-bucket").key("k")));
    s3.headBucket(r -> r.bucket("known-bucket"));
    assertThrows(NoSuchBucketException.class, () -> s3.headBucket(r -> r.bucket("no-such-bucket")));

    // the error document as S3 writes it
    HttpResponse<String> unsigned = raw("GET", "/s3/known-bucket/absent", b -> { });
    assertEquals(403, unsigned.statusCode());
    assertEquals("application/xml", unsigned.headers().firstValue("Content-Type").orElseThrow());
    String id = unsigned.headers().firstValue("x-amz-request-id").orElseThrow();
    assertEquals("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied"
        + "</Message><RequestId>" + id + "</RequestId></Error>", unsigned.body());
  }

  @Test
  void aBucketThatAReceiptRuleNamesExistsWhileItIsEmpty() {
    Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name) VALUES (?, 'rules')", account);
    Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled) VALUES (?, 'rules', 'to-s3', 0, true, 'Optional', '{}', "
        + "'[{\"S3Action\": {\"BucketName\": \"ruled-bucket\", \"ObjectKeyPrefix\": \"in/\"}}]'::jsonb, false)",
        account);
    ListObjectsV2Response empty = s3.listObjectsV2(r -> r.bucket("ruled-bucket"));
    assertEquals(0, empty.keyCount());
    assertThrows(NoSuchKeyException.class, () -> s3.getObjectAsBytes(r -> r.bucket("ruled-bucket").key("in/x")));
    // the other account's rules do not make the bucket its
    assertThrows(NoSuchBucketException.class, () -> otherS3.listObjectsV2(r -> r.bucket("ruled-bucket")));
  }

  @Test
  void anotherAccountNeverSeesTheObjects() {
    put("shared-name", "secret-mail", "for the dev account only");
    assertThrows(NoSuchBucketException.class,
        () -> otherS3.getObjectAsBytes(r -> r.bucket("shared-name").key("secret-mail")));
    assertThrows(NoSuchKeyException.class, () -> otherS3.headObject(r -> r.bucket("shared-name").key("secret-mail")));
    assertThrows(NoSuchBucketException.class, () -> otherS3.listObjectsV2(r -> r.bucket("shared-name")));
    assertThrows(NoSuchBucketException.class,
        () -> otherS3.deleteObject(r -> r.bucket("shared-name").key("secret-mail")));

    // its own bucket of the same name is its own namespace
    put(other.accountId(), "shared-name", "own-mail", "its own".getBytes(StandardCharsets.UTF_8), Instant.now());
    assertThrows(NoSuchKeyException.class,
        () -> otherS3.getObjectAsBytes(r -> r.bucket("shared-name").key("secret-mail")));
    otherS3.deleteObject(r -> r.bucket("shared-name").key("secret-mail"));
    assertEquals(List.of("own-mail"), keys(otherS3.listObjectsV2(r -> r.bucket("shared-name"))));
    assertEquals(List.of("secret-mail"), keys(s3.listObjectsV2(r -> r.bucket("shared-name"))));
    assertEquals("for the dev account only",
        s3.getObjectAsBytes(r -> r.bucket("shared-name").key("secret-mail")).asUtf8String());
  }

  @Test
  void aWrongSecretIsSignatureDoesNotMatch() {
    put("auth-bucket", "k", "x");
    try (S3Client wrong = client(TestNode.ACCESS_KEY, "not/the/secret/000000000000000000000000")) {
      S3Exception e = refused(403, "SignatureDoesNotMatch", () -> wrong.getObjectAsBytes(r -> r.bucket("auth-bucket")
          .key("k")));
      assertTrue(e.awsErrorDetails().errorMessage().startsWith("The request signature we calculated does not match"),
          e.awsErrorDetails().errorMessage());
    }
    try (S3Client unknown = client("AKIANOSUCHKEY0000000", TestNode.SECRET)) {
      refused(403, "InvalidAccessKeyId", () -> unknown.listObjectsV2(r -> r.bucket("auth-bucket")));
    }
    // the SES signing scope does not open the S3 API
    HttpResponse<String> ses = node.signed("GET", "/s3/auth-bucket/k", null, Map.of());
    assertEquals(403, ses.statusCode());
    assertTrue(ses.body().contains("<Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to "
        + "correct service: 's3'."), ses.body());
  }

  /**
   * A client whose clock is 20 minutes off is refused with RequestTimeTooSkewed, corrects its clock from the Date
   * header of the refusal and succeeds on its retry, as against S3.
   */
  @Test
  void aClientWithAWrongClockCorrectsItFromTheDateHeader() {
    try (TestNode ahead = TestNode.start("", Clock.offset(Clock.systemUTC(), Duration.ofMinutes(20)));
         S3Client once = client(ahead, TestNode.ACCESS_KEY, TestNode.SECRET, 1);
         S3Client retrying = client(ahead, TestNode.ACCESS_KEY, TestNode.SECRET, 2)) {
      Db.execute(ahead.config().get(MailgateConfig.PG_URL), "INSERT INTO received_objects (account_id, bucket, "
          + "object_key, message_id, content, created_at) VALUES (?, 'skew', 'k', 'm', ?, now())", account,
          "late".getBytes(StandardCharsets.UTF_8));
      S3Exception e = refused(403, "RequestTimeTooSkewed", () -> once.getObjectAsBytes(r -> r.bucket("skew").key("k")));
      assertTrue(e.awsErrorDetails().errorMessage().startsWith("Signature expired"), e.toString());
      assertEquals("late", retrying.getObjectAsBytes(r -> r.bucket("skew").key("k")).asUtf8String());
    } finally {
      SdkGlobalTime.setGlobalTimeOffset(0); // the SDK keeps its correction JVM-wide, for every client built after
    }
  }

  @Test
  void unsupportedMethodsAreMethodNotAllowedAndOtherOperationsNotImplemented() throws Exception {
    put("method-bucket", "k", "x");
    // a bucket is made (S3BucketsTest), its configurations are not kept: refused, not acknowledged
    S3Exception tagging = refused(501, "NotImplemented", () -> s3.putBucketTagging(r -> r.bucket("method-bucket-new")
        .tagging(t -> t.tagSet(tag -> tag.key("k").value("v")))));
    assertTrue(tagging.awsErrorDetails().errorMessage().contains("'tagging' configuration"), tagging.toString());
    assertThrows(NoSuchBucketException.class, () -> s3.headBucket(r -> r.bucket("method-bucket-new")));
    // CopyObject is served (S3CopyObjectTest), UploadPartCopy too (S3MultipartObjectsTest): for an upload there is
    refused(404, "NoSuchUpload", () -> s3.uploadPartCopy(r -> r.sourceBucket("method-bucket").sourceKey("k")
        .destinationBucket("method-bucket").destinationKey("copied-not").uploadId("none").partNumber(1)));
    // multipart uploads are (S3MultipartTest), their listing by common prefixes too: a bucket without uploads
    assertTrue(s3.listMultipartUploads(r -> r.bucket("method-bucket").delimiter("/")).commonPrefixes().isEmpty());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'copied-not'"));
    refused(501, "NotImplemented", () -> s3.deleteBucketLifecycle(r -> r.bucket("method-bucket")));
    refused(501, "NotImplemented", () -> s3.getObjectRetention(r -> r.bucket("method-bucket").key("k")));

    // the service is listed (ListBuckets, S3BucketsTest), and only that: refused before authentication
    HttpResponse<String> service = raw("DELETE", "/s3", b -> { });
    assertEquals(405, service.statusCode(), service.body());
    assertTrue(service.body().contains("<ResourceType>SERVICE</ResourceType>"), service.body());

    String malformed = rawRequest("GET /s3/method-bucket/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assertTrue(malformed.startsWith("HTTP/1.1 400"), malformed);
    assertTrue(malformed.contains("<Code>InvalidURI</Code>"), malformed);

    HttpResponse<String> post = raw("POST", "/s3/method-bucket/k", b -> { });
    assertEquals(405, post.statusCode());
    assertTrue(post.body().startsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>MethodNotAllowed</Code>"
        + "<Message>The specified method is not allowed against this resource.</Message><Method>POST</Method>"
        + "<ResourceType>OBJECT</ResourceType><RequestId>"), post.body());
  }

  @Test
  void keysWithSlashesSpacesAndUnicodeRoundTrip() {
    List<String> keys = List.of("dir/sub dir/Zoë ✓ 🙂.eml", "a+b=c&d?e#f;g,h:i@j$k!l*m'n(o)p", "%41 literal percent",
        "dot/./and/../segments", "/leading/slash", "trailing/slash/", "tab\there", "<xml> & \"quotes\"");
    for (String key : keys) {
      put("unicode-bucket", key, "content of " + key);
    }
    for (String key : keys) {
      assertEquals("content of " + key, s3.getObjectAsBytes(r -> r.bucket("unicode-bucket").key(key)).asUtf8String(),
          key);
      s3.headObject(r -> r.bucket("unicode-bucket").key(key));
    }
    List<String> listed = keys(s3.listObjectsV2(r -> r.bucket("unicode-bucket")));
    assertEquals(keys.stream().sorted(ReceivedObjectsS3Test::utf8Order).toList(), listed);
    List<String> urlEncoded = keys(s3.listObjectsV2(r -> r.bucket("unicode-bucket").encodingType("url")));
    assertEquals(listed, urlEncoded, "the SDK decodes what encoding-type=url encoded");
    assertEquals(List.of("dir/sub dir/Zoë ✓ 🙂.eml"), keys(s3.listObjectsV2(r -> r.bucket("unicode-bucket")
        .prefix("dir/sub dir/Zoë"))));

    s3.deleteObject(r -> r.bucket("unicode-bucket").key("dir/sub dir/Zoë ✓ 🙂.eml"));
    assertEquals(keys.size() - 1, s3.listObjectsV2(r -> r.bucket("unicode-bucket")).keyCount());
  }

  /** S3's order: by UTF-8 bytes (Java's compareTo is by UTF-16 units, which differs above U+FFFF). */
  static int utf8Order(String a, String b) {
    return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void keysAreListedInUtf8ByteOrderWhateverTheCollation() {
    // in most locales' collations "B" sorts after "a" and "é" next to "e"; S3 sorts by bytes
    for (String key : List.of("a", "B", "é", "e", "\uFF21", "\uD83D\uDE42", "_")) {
      put("order-bucket", key, key);
    }
    List<String> listed = new ArrayList<>();
    s3.listObjectsV2Paginator(r -> r.bucket("order-bucket").maxKeys(2)).contents()
        .forEach(o -> listed.add(o.key()));
    assertEquals(List.of("B", "_", "a", "e", "é", "\uFF21", "\uD83D\uDE42"), listed);
  }
}
