package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.model.CORSRule;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Browser-based uploads (POST Object): an HTML form with a POST policy signed as the SDKs' {@code createPresignedPost}
 * signs it, sent as a browser sends it; its file written at its key (with the file's name for {@code ${filename}}),
 * with the form's metadata and tags, answered 204, 201 with S3's PostResponse, or a redirect; forms whose signature,
 * policy, conditions, fields or file S3 would refuse are refused as S3 refuses them, and nothing is written.
 */
class S3PostObjectTest extends S3NodeTest {
  static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyyMMdd").withZone(ZoneOffset.UTC);
  static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
      .withZone(ZoneOffset.UTC);

  @AfterEach
  void noBuckets() {
    Db.execute(pg, "DELETE FROM s3_bucket_cors; DELETE FROM s3_buckets");
  }

  /** A form being made: its fields in order, its policy's conditions, the file last. */
  static final class Form {
    final Map<String, String> fields = new LinkedHashMap<>();
    final JsonArray conditions = new JsonArray();
    Instant expiration = Instant.now().plus(Duration.ofMinutes(10));
    String secret = TestNode.SECRET;
    String accessKey = TestNode.ACCESS_KEY;
    String credential;
    String policy;

    /** A field the policy names exactly too. */
    Form field(String name, String value) {
      fields.put(name, value);
      conditions.add(new JsonObject().put(name, value));
      return this;
    }

    /**
     * The form as S3's presigners make it for {@code bucket}: the bucket, algorithm, credential and date conditions,
     * {@code more} of its own, then the policy and its signature.
     */
    Form signed(String bucket) throws Exception {
      Instant now = Instant.now();
      if (credential == null) {
        credential = accessKey + "/" + DAY.format(now) + "/us-east-1/s3/aws4_request";
      }
      conditions.add(new JsonObject().put("bucket", bucket));
      field("x-amz-algorithm", "AWS4-HMAC-SHA256");
      field("x-amz-credential", credential);
      field("x-amz-date", AMZ_DATE.format(now));
      if (policy == null) {
        policy = Base64.getEncoder().encodeToString(new JsonObject().put("expiration", expiration.toString())
            .put("conditions", conditions).encode().getBytes(StandardCharsets.UTF_8));
      }
      fields.put("policy", policy);
      fields.put("x-amz-signature", HexFormat.of().formatHex(hmac(signingKey(secret, DAY.format(now)), policy)));
      return this;
    }

    static byte[] signingKey(String secret, String day) throws Exception {
      byte[] key = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), day);
      for (String part : new String[] {"us-east-1", "s3", "aws4_request"}) {
        key = hmac(key, part);
      }
      return key;
    }

    static byte[] hmac(byte[] key, String data) throws Exception {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }
  }

  static final String BOUNDARY = "----FormBoundary7MA4YWxkTrZu0gW";

  /** The form posted to the bucket as a browser posts it: multipart/form-data, the file last. */
  static HttpResponse<String> post(String bucket, Map<String, String> fields, String filename, byte[] file,
      Consumer<HttpRequest.Builder> more) throws Exception {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (Map.Entry<String, String> f : fields.entrySet()) {
      body.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
          + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
    }
    if (file != null) {
      body.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
          + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      body.writeBytes(file);
      body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    body.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.endpoint() + S3Api.PATH + "/" + bucket))
        .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
    more.accept(request);
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String bucket, Form form, byte[] file) throws Exception {
    return post(bucket, form.fields, "photo.txt", file, b -> { });
  }

  static long objects() {
    return Db.count(pg, "SELECT count(*) FROM received_objects");
  }

  @Test
  void aFormsFileIsWrittenAtItsKeyWithItsMetadata() throws Exception {
    s3.createBucket(r -> r.bucket("forms"));
    // a file with a CRLF and what looks like a delimiter inside: its bytes as sent
    byte[] file = ("line one\r\n--" + BOUNDARY.substring(0, 10) + "\r\n\u0000\u00ff end").getBytes(
        StandardCharsets.ISO_8859_1);
    Form form = new Form().field("key", "uploads/${filename}").field("Content-Type", "text/plain")
        .field("x-amz-meta-uploader", "jane").field("success_action_status", "201")
        .field("tagging", "<Tagging><TagSet><Tag><Key>from</Key><Value>form</Value></Tag></TagSet></Tagging>");
    form.conditions.add(new JsonArray().add("content-length-range").add(1).add(1000));
    HttpResponse<String> created = post("forms", form.signed("forms"), file);
    assertEquals(201, created.statusCode(), created.body());
    String etag = created.headers().firstValue("ETag").orElseThrow();
    assertTrue(created.body().contains("<Bucket>forms</Bucket><Key>uploads/photo.txt</Key><ETag>"), created.body());
    assertTrue(created.body().contains(etag.replace("\"", "")), created.body());
    assertTrue(created.body().contains("<Location>" + node.endpoint().toString().replaceAll("/$", "")
        + "/s3/forms/uploads/photo.txt</Location>"), created.body());
    ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(r -> r.bucket("forms").key("uploads/photo.txt"));
    assertEquals(new String(file, StandardCharsets.ISO_8859_1), new String(got.asByteArray(),
        StandardCharsets.ISO_8859_1));
    assertEquals("text/plain", got.response().contentType());
    assertEquals(Map.of("uploader", "jane"), got.response().metadata());
    assertEquals(etag, got.response().eTag());
    assertEquals("form", s3.getObjectTagging(r -> r.bucket("forms").key("uploads/photo.txt")).tagSet().get(0)
        .value());

    // by default 204, with the ETag and where the object is; a redirect names the bucket, key and ETag
    HttpResponse<String> plain = post("forms", new Form().field("key", "k2").signed("forms"), "x".getBytes());
    assertEquals(204, plain.statusCode(), plain.body());
    assertTrue(plain.headers().firstValue("Location").orElseThrow().endsWith("/s3/forms/k2"));
    HttpResponse<String> redirected = post("forms", new Form().field("key", "k3")
        .field("success_action_redirect", "https://app.example/done?x=1").signed("forms"), "y".getBytes());
    assertEquals(303, redirected.statusCode(), redirected.body());
    assertEquals("https://app.example/done?x=1&bucket=forms&key=k3&etag=%22415290769594460e2e485922904f345d%22",
        redirected.headers().firstValue("Location").orElseThrow());
    assertEquals(3, objects());

    // from a page whose origin the bucket's CORS rules allow to POST: the page's script may read the answer
    s3.putBucketCors(r -> r.bucket("forms").corsConfiguration(c -> c.corsRules(CORSRule.builder()
        .allowedOrigins("https://app.example").allowedMethods("POST").exposeHeaders("ETag").build())));
    Form fromPage = new Form().field("key", "k4").signed("forms");
    HttpResponse<String> cors = post("forms", fromPage.fields, "f", "z".getBytes(), b -> b.header("Origin",
        "https://app.example"));
    assertEquals(204, cors.statusCode(), cors.body());
    assertEquals("https://app.example", cors.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
  }

  /**
   * A form is read before anyone is known to have sent it, so forms being read hold a share of the node's budget of
   * their own: while one of the largest size trickles in, another is SlowDown; once it is gone, forms are read again.
   */
  @Test
  void formsBeingReadHoldAShareOfTheBudgetOfTheirOwn() throws Exception {
    java.util.function.Supplier<Integer> anonymous = () -> {
      try {
        return post("guarded", Map.of("key", "k"), "f", "x".getBytes(StandardCharsets.UTF_8), b -> { }).statusCode();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    assertEquals(403, anonymous.get(), "no policy: read, then refused");
    try (java.net.Socket trickle = trickle()) {
      io.mailgate.testing.Await.until(anonymous, status -> status == 503, Duration.ofSeconds(10));
      HttpResponse<String> slowDown = post("guarded", Map.of("key", "k"), "f", "x".getBytes(), b -> { });
      assertTrue(slowDown.body().contains("<Code>SlowDown</Code>"), slowDown.body());
    }
    io.mailgate.testing.Await.until(anonymous, status -> status == 403, Duration.ofSeconds(10));
    assertEquals(0, objects());
  }

  /**
   * A form of the largest size, its headers and first bytes sent, the rest never: it holds the forms' whole share. The
   * share is one such form, so a form still ending when it arrives (the last one's claim is given back as its answer
   * ends, which its client may read first) makes it SlowDown: then it is sent again.
   */
  private static java.net.Socket trickle() throws java.io.IOException {
    for (int attempt = 0; attempt < 10; attempt++) {
      java.net.Socket socket = new java.net.Socket(node.endpoint().getHost(), node.endpoint().getPort());
      socket.getOutputStream().write(("POST /s3/guarded HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
          + "multipart/form-data; boundary=" + BOUNDARY + "\r\nContent-Length: " + PostObject.MAX_FORM_BYTES
          + "\r\n\r\n--" + BOUNDARY + "\r\n").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      socket.setSoTimeout(1_000);
      try {
        socket.getInputStream().read(); // answered: SlowDown
        socket.close();
      } catch (java.net.SocketTimeoutException held) {
        return socket;
      }
    }
    throw new AssertionError("a form of the largest size was never let in");
  }

  @Test
  void formsS3RefusesWriteNothing() throws Exception {
    s3.createBucket(r -> r.bucket("guarded"));
    byte[] file = "content".getBytes(StandardCharsets.UTF_8);
    Map<String, HttpResponse<String>> refusals = new LinkedHashMap<>();
    Form wrongSecret = new Form().field("key", "k");
    wrongSecret.secret = "not the secret";
    refusals.put("403 SignatureDoesNotMatch", post("guarded", wrongSecret.signed("guarded"), file));
    Form unknownKey = new Form().field("key", "k");
    unknownKey.accessKey = "AKIANOSUCHKEY0000000";
    refusals.put("403 InvalidAccessKeyId", post("guarded", unknownKey.signed("guarded"), file));
    Form otherService = new Form().field("key", "k");
    otherService.credential = TestNode.ACCESS_KEY + "/20261206/us-east-1/ses/aws4_request";
    refusals.put("400 AuthorizationQueryParametersError X-Amz-Credential", post("guarded",
        otherService.signed("guarded"), file));
    Form expired = new Form().field("key", "k");
    expired.expiration = Instant.now().minusSeconds(1);
    refusals.put("403 AccessDenied Policy expired.", post("guarded", expired.signed("guarded"), file));
    Form outside = new Form();
    outside.fields.put("key", "elsewhere/k");
    outside.conditions.add(new JsonArray().add("starts-with").add("$key").add("uploads/"));
    refusals.put("403 AccessDenied Policy Condition failed: [\"starts-with\",\"$key\",\"uploads/\"]",
        post("guarded", outside.signed("guarded"), file));
    Form extra = new Form().field("key", "k");
    extra.signed("guarded");
    extra.fields.put("x-amz-meta-sneaked", "in"); // after the policy was signed: no condition names it
    refusals.put("403 AccessDenied Extra input fields: x-amz-meta-sneaked", post("guarded", extra.fields, "f", file,
        b -> { }));
    refusals.put("403 AccessDenied Policy Condition failed: [\"eq\", \"$bucket\", \"guarded\"]",
        post("other-bucket", new Form().field("key", "k").signed("guarded"), file));
    Form small = new Form().field("key", "k");
    small.conditions.add(new JsonArray().add("content-length-range").add(0).add(3));
    refusals.put("400 EntityTooLarge", post("guarded", small.signed("guarded"), file));
    Form garbled = new Form().field("key", "k");
    garbled.policy = Base64.getEncoder().encodeToString("{not json".getBytes(StandardCharsets.UTF_8));
    refusals.put("400 InvalidPolicyDocument Invalid JSON.", post("guarded", garbled.signed("guarded"), file));
    refusals.put("403 AccessDenied", post("guarded", Map.of("key", "k"), "f", file, b -> { }));
    refusals.put("400 InvalidArgument POST requires exactly one file upload per request.",
        post("guarded", new Form().field("key", "k").signed("guarded").fields, "f", null, b -> { }));
    refusals.put("400 InvalidArgument Bucket POST must contain a field named 'key'.",
        post("guarded", new Form().signed("guarded"), file));
    refusals.put("400 AccessControlListNotSupported",
        post("guarded", new Form().field("key", "k").field("acl", "public-read").signed("guarded"), file));
    Form twice = new Form().field("key", "k").signed("guarded");
    refusals.put("400 InvalidArgument The form field 'key' is given twice.", post("guarded", twice.fields, "f", file,
        b -> b.POST(HttpRequest.BodyPublishers.ofString("--" + BOUNDARY + "\r\nContent-Disposition: form-data; "
            + "name=\"key\"\r\n\r\na\r\n--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"Key\"\r\n\r\nb"
            + "\r\n--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--" + BOUNDARY
            + "--\r\n"))));
    refusals.forEach((expected, answer) -> {
      String[] words = expected.split(" ", 3);
      assertEquals(Integer.parseInt(words[0]), answer.statusCode(), expected + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>" + words[1] + "</Code>"), expected + ": " + answer.body());
      if (words.length > 2) {
        assertTrue(answer.body().contains(words[2].replace("\"", "&quot;"))
            || answer.body().contains(words[2]), expected + ": " + answer.body());
      }
    });
    assertEquals(0, objects(), "nothing refused was written");
  }
}
