package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3BucketsTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CORSRule;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * A bucket's CORS configuration, as a page's script uploading to a presigned URL needs it: PutBucketCors,
 * GetBucketCors and DeleteBucketCors through the AWS SDK; a browser's preflight (OPTIONS, sent here as a browser sends
 * it) answered by the first rule that allows it, or refused; the answers to requests with an Origin, errors too,
 * carrying the rule's headers; whose bucket's rules apply when two accounts have a bucket of one name; documents S3
 * refuses refused, nothing written.
 */
class S3CorsTest extends S3NodeTest {
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final String APP = "https://app.example";

  @AfterEach
  void noBuckets() {
    Db.execute(pg, "DELETE FROM s3_bucket_cors; DELETE FROM s3_buckets");
  }

  /** A preflight as a browser sends it (null: the header left out). */
  static HttpResponse<String> preflight(String pathAndQuery, String origin, String method, String headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.endpoint() + S3Api.PATH + "/" + pathAndQuery))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody());
    if (origin != null) {
      b.header("Origin", origin);
    }
    if (method != null) {
      b.header("Access-Control-Request-Method", method);
    }
    if (headers != null) {
      b.header("Access-Control-Request-Headers", headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  /**
   * A request signed in its Authorization header, with an Origin (null: none), sent as a browser sends it (the SDK's
   * HTTP client drops an Origin header: the JDK's URLConnection keeps it for itself).
   */
  static HttpResponse<String> send(SdkHttpMethod method, String pathAndQuery, String body, String origin)
      throws Exception {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    String path = S3Api.PATH + "/" + pathAndQuery;
    SdkHttpFullRequest.Builder request = SdkHttpFullRequest.builder().method(method)
        // signed as https, so that the signer hashes the body (S3MultipartTest.signed), sent over http
        .uri(URI.create(node.endpoint().toString().replace("http:", "https:") + path));
    if (origin != null) {
      request.putHeader("Origin", origin);
    }
    SignedRequest signed = AwsV4HttpSigner.create().sign(r -> r
        .identity(AwsCredentialsIdentity.create(TestNode.ACCESS_KEY, TestNode.SECRET)).request(request.build())
        .payload(ContentStreamProvider.fromByteArray(bytes))
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"));
    HttpRequest.Builder sent = HttpRequest.newBuilder(URI.create(node.endpoint() + path)).method(method.name(),
        bytes.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(bytes));
    signed.request().forEachHeader((name, values) -> {
      if (!name.equalsIgnoreCase("Host")) {
        values.forEach(v -> sent.header(name, v));
      }
    });
    return HTTP.send(sent.build(), HttpResponse.BodyHandlers.ofString());
  }

  static void forbidden(HttpResponse<String> r, String why) {
    assertEquals(403, r.statusCode(), r.body());
    assertTrue(r.body().contains("<Code>AccessForbidden</Code>") && r.body().contains(why), r.body());
    assertEquals(null, header(r, "Access-Control-Allow-Origin"), r.headers().toString());
  }

  static final CORSRule UPLOADS = CORSRule.builder().id("uploads")
      .allowedOrigins(APP, "https://*.app.example").allowedMethods("PUT", "GET")
      .allowedHeaders("content-type", "x-amz-*").exposeHeaders("ETag", "x-amz-request-id").maxAgeSeconds(600).build();
  static final CORSRule READS = CORSRule.builder().allowedOrigins("*").allowedMethods("GET", "HEAD").build();

  @Test
  void aBucketsRulesAnswerPreflightsAndGiveAnswersTheirHeaders() throws Exception {
    s3.createBucket(r -> r.bucket("web"));
    refused(404, "NoSuchCORSConfiguration", () -> s3.getBucketCors(r -> r.bucket("web")));
    forbidden(preflight("web/k", APP, "PUT", null), "CORS is not enabled for this bucket.");

    s3.putBucketCors(r -> r.bucket("web").corsConfiguration(c -> c.corsRules(UPLOADS, READS)));
    assertEquals(List.of(UPLOADS, READS), s3.getBucketCors(r -> r.bucket("web")).corsRules());

    // the first rule: the origin named back, with credentials, the headers asked for, the rule's exposed headers
    HttpResponse<String> put = preflight("web/photos/a.jpg?X-Id=PutObject", APP, "PUT", "Content-Type, X-Amz-Date");
    assertEquals(200, put.statusCode(), put.body());
    assertEquals(APP, header(put, "Access-Control-Allow-Origin"));
    assertEquals("true", header(put, "Access-Control-Allow-Credentials"));
    assertEquals("PUT, GET", header(put, "Access-Control-Allow-Methods"));
    assertEquals("content-type, x-amz-date", header(put, "Access-Control-Allow-Headers"));
    assertEquals("ETag, x-amz-request-id", header(put, "Access-Control-Expose-Headers"));
    assertEquals("600", header(put, "Access-Control-Max-Age"));
    assertEquals(Cors.VARY, header(put, "Vary"));
    assertEquals("https://eu.app.example", header(preflight("web/k", "https://eu.app.example", "PUT", null),
        "Access-Control-Allow-Origin"), "an origin by the rule's wildcard");
    // the second rule lets any origin read: named "*", without credentials
    HttpResponse<String> any = preflight("web/k", "https://other.example", "GET", null);
    assertEquals(200, any.statusCode(), any.body());
    assertEquals("*", header(any, "Access-Control-Allow-Origin"));
    assertEquals(null, header(any, "Access-Control-Allow-Credentials"));
    assertEquals("GET, HEAD", header(any, "Access-Control-Allow-Methods"));
    assertEquals(200, preflight("web", APP, "HEAD", null).statusCode(), "the bucket itself");

    // what no rule allows: another origin's PUT, a header neither rule names, DELETE, a look-alike origin
    String notAllowed = "This CORS request is not allowed.";
    forbidden(preflight("web/k", "https://other.example", "PUT", null), notAllowed);
    forbidden(preflight("web/k", APP, "PUT", "content-type, authorization"), notAllowed);
    forbidden(preflight("web/k", APP, "DELETE", null), notAllowed);
    forbidden(preflight("web/k", "https://app.example.evil", "PUT", null), notAllowed);
    forbidden(preflight("web/k", "http://app.example", "PUT", null), notAllowed);
    // preflights S3 cannot read
    for (String[] bad : new String[][] {{null, "PUT", "Origin request header needed"},
        {APP, null, "Invalid Access-Control-Request-Method: null"},
        {APP, "PATCH", "Invalid Access-Control-Request-Method: PATCH"}}) {
      HttpResponse<String> r = preflight("web/k", bad[0], bad[1], null);
      assertEquals(400, r.statusCode(), r.body());
      assertTrue(r.body().contains("<Code>BadRequest</Code>") && r.body().contains(bad[2]), r.body());
    }
    forbidden(preflight("nobody-has-this/k", APP, "GET", null), "CORS is not enabled for this bucket.");

    // a request with an Origin: its answer has the headers of the first rule allowing its origin and method
    HttpResponse<String> upload = send(SdkHttpMethod.PUT, "web/k", "x", APP);
    assertEquals(200, upload.statusCode(), upload.body());
    assertEquals(APP, header(upload, "Access-Control-Allow-Origin"));
    HttpResponse<String> got = send(SdkHttpMethod.GET, "web/k", "", APP);
    assertEquals("x", got.body());
    assertEquals(APP, header(got, "Access-Control-Allow-Origin"));
    assertEquals("ETag, x-amz-request-id", header(got, "Access-Control-Expose-Headers"));
    assertEquals(Cors.VARY, header(got, "Vary"));
    assertEquals("*", header(send(SdkHttpMethod.HEAD, "web/k", "", "https://other.example"),
        "Access-Control-Allow-Origin"));
    // an error too: the page's script can read why
    HttpResponse<String> missing = send(SdkHttpMethod.GET, "web/nothing", "", APP);
    assertEquals(404, missing.statusCode());
    assertEquals(APP, header(missing, "Access-Control-Allow-Origin"));
    // no rule allows another origin's PUT: done (CORS is the browser's to enforce), without the headers
    HttpResponse<String> other = send(SdkHttpMethod.PUT, "web/k2", "y", "https://other.example");
    assertEquals(200, other.statusCode(), other.body());
    assertEquals(null, header(other, "Access-Control-Allow-Origin"));
    assertEquals(Cors.VARY, header(other, "Vary"));
    // no Origin: no CORS headers at all
    HttpResponse<String> plain = send(SdkHttpMethod.GET, "web/k", "", null);
    assertEquals(null, header(plain, "Access-Control-Allow-Origin"));
    assertEquals(null, header(plain, "Vary"));

    // deleted: 204 (again too), none left, preflights refused
    s3.deleteBucketCors(r -> r.bucket("web"));
    s3.deleteBucketCors(r -> r.bucket("web"));
    refused(404, "NoSuchCORSConfiguration", () -> s3.getBucketCors(r -> r.bucket("web")));
    forbidden(preflight("web/k", APP, "GET", null), "CORS is not enabled for this bucket.");
    assertEquals(null, header(send(SdkHttpMethod.GET, "web/k", "", APP), "Access-Control-Allow-Origin"));
    refused(404, "NoSuchBucket", () -> s3.deleteBucketCors(r -> r.bucket("nobody-has-this")));
    refused(404, "NoSuchBucket", () -> s3.getBucketCors(r -> r.bucket("nobody-has-this")));
  }

  /**
   * Buckets are their accounts' namespaces: a preflight of a presigned URL is judged by the rules of the bucket of the
   * account whose key signed it, an answer by its caller's; a preflight without credentials by any account's bucket of
   * that name. DeleteBucket deletes the configuration with the bucket.
   */
  @Test
  void theRulesAreThoseOfTheBucketOfTheAccountAsking() throws Exception {
    s3.createBucket(r -> r.bucket("shared-name"));
    s3.putBucketCors(r -> r.bucket("shared-name").corsConfiguration(c -> c.corsRules(UPLOADS)));
    Accounts.NewKey other = node.createAccount("s3-cors-other", true, 10, 1000);
    String theirs = "https://theirs.example";
    try (S3Client them = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      refused(404, "NoSuchBucket", () -> them.getBucketCors(r -> r.bucket("shared-name")));
      refused(404, "NoSuchBucket", () -> them.putBucketCors(r -> r.bucket("shared-name")
          .corsConfiguration(c -> c.corsRules(READS))));
      them.createBucket(r -> r.bucket("shared-name"));
      them.putBucketCors(r -> r.bucket("shared-name").corsConfiguration(c -> c.corsRules(CORSRule.builder()
          .allowedOrigins(theirs).allowedMethods("PUT").build())));
      assertEquals(List.of(UPLOADS), s3.getBucketCors(r -> r.bucket("shared-name")).corsRules(), "ours as it was");
    }

    URI mine = presignPut("shared-name", "upload.bin");
    String query = "shared-name/upload.bin?" + mine.getRawQuery();
    assertEquals(200, preflight(query, APP, "PUT", "content-type").statusCode());
    forbidden(preflight(query, theirs, "PUT", null), "not allowed"); // which their bucket would allow
    // no credentials: either account's rules
    assertEquals(APP, header(preflight("shared-name/k", APP, "PUT", null), "Access-Control-Allow-Origin"));
    assertEquals(theirs, header(preflight("shared-name/k", theirs, "PUT", null), "Access-Control-Allow-Origin"));
    // the upload itself, from the page allowed, and from theirs (which the browser would not have sent)
    HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(mine).header("Origin", APP)
        .PUT(HttpRequest.BodyPublishers.ofString("file")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, put.statusCode(), put.body());
    assertEquals(APP, header(put, "Access-Control-Allow-Origin"));
    assertTrue(header(put, "ETag") != null);
    HttpResponse<String> fromTheirs = HTTP.send(HttpRequest.newBuilder(presignPut("shared-name", "u2"))
        .header("Origin", theirs).PUT(HttpRequest.BodyPublishers.ofString("file")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, fromTheirs.statusCode(), fromTheirs.body());
    assertEquals(null, header(fromTheirs, "Access-Control-Allow-Origin"));

    // deleted with its bucket: made again, it has none
    s3.createBucket(r -> r.bucket("gone"));
    s3.putBucketCors(r -> r.bucket("gone").corsConfiguration(c -> c.corsRules(READS)));
    s3.deleteBucket(r -> r.bucket("gone"));
    s3.createBucket(r -> r.bucket("gone"));
    refused(404, "NoSuchCORSConfiguration", () -> s3.getBucketCors(r -> r.bucket("gone")));
  }

  static URI presignPut(String bucket, String key) throws Exception {
    try (S3Presigner presigner = S3Presigner.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .region(Region.US_EAST_1)
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).build()) {
      return presigner.presignPutObject(r -> r.signatureDuration(Duration.ofMinutes(5))
          .putObjectRequest(p -> p.bucket(bucket).key(key))).url().toURI();
    }
  }

  /** Documents S3 refuses are refused, naming why, and the bucket's rules stay as they were. */
  @Test
  void documentsS3RefusesChangeNothing() throws Exception {
    s3.createBucket(r -> r.bucket("strict"));
    s3.putBucketCors(r -> r.bucket("strict").corsConfiguration(c -> c.corsRules(READS)));
    String rule = "<CORSRule><AllowedOrigin>%s</AllowedOrigin><AllowedMethod>%s</AllowedMethod>%s</CORSRule>";
    Map<String, String[]> refusals = new java.util.LinkedHashMap<>();
    refusals.put(String.format(rule, APP, "PATCH", ""), new String[] {"InvalidRequest",
        "Unsupported method is PATCH"});
    refusals.put(String.format(rule, "https://*.*.example", "GET", ""), new String[] {"InvalidRequest",
        "can not have more than one wildcard"});
    refusals.put(String.format(rule, APP, "GET", "<AllowedHeader>x-*-*</AllowedHeader>"), new String[] {
        "InvalidRequest", "can not have more than one wildcard"});
    refusals.put(String.format(rule, APP, "GET", "<ExposeHeader>ETag&#13;&#10;Set-Cookie: a=b</ExposeHeader>"),
        new String[] {"InvalidRequest", "is not a header name"});
    refusals.put("<CORSRule><AllowedOrigin>" + APP + "</AllowedOrigin></CORSRule>", new String[] {"MalformedXML", ""});
    refusals.put(String.format(rule, APP, "GET", "<MaxAgeSeconds>soon</MaxAgeSeconds>"), new String[] {"MalformedXML",
        ""});
    refusals.put(String.format(rule, APP, "GET", "<Unknown/>"), new String[] {"MalformedXML", ""});
    refusals.put(String.format(rule, APP, "GET", "").repeat(Cors.MAX_RULES + 1), new String[] {"MalformedXML", ""});
    refusals.put("", new String[] {"MalformedXML", ""});
    for (Map.Entry<String, String[]> r : refusals.entrySet()) {
      byte[] document = ("<CORSConfiguration>" + r.getKey() + "</CORSConfiguration>").getBytes(StandardCharsets.UTF_8);
      S3MultipartTest.Answer answer = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "strict?cors", document,
          b -> b, Map.of("Content-MD5", S3DeleteObjectsTest.md5(new String(document, StandardCharsets.UTF_8))));
      assertEquals(400, answer.status(), r.getKey() + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>" + r.getValue()[0] + "</Code>")
          && answer.body().contains(r.getValue()[1]), r.getKey() + ": " + answer.body());
    }
    byte[] valid = ("<CORSConfiguration>" + String.format(rule, APP, "GET", "") + "</CORSConfiguration>")
        .getBytes(StandardCharsets.UTF_8);
    // without a Content-MD5 or a checksum; with one that is not the document's; not XML at all
    S3MultipartTest.Answer bare = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "strict?cors", valid, b -> b);
    assertEquals(400, bare.status(), bare.body());
    assertTrue(bare.body().contains("<Code>InvalidRequest</Code>") && bare.body().contains("Content-MD5"));
    S3MultipartTest.Answer wrong = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "strict?cors", valid, b -> b,
        Map.of("Content-MD5", S3DeleteObjectsTest.md5("<CORSConfiguration/>")));
    assertTrue(wrong.body().contains("<Code>BadDigest</Code>"), wrong.body());
    S3MultipartTest.Answer notXml = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "strict?cors",
        "{\"CORSRules\": []}".getBytes(StandardCharsets.UTF_8), b -> b,
        Map.of("Content-MD5", S3DeleteObjectsTest.md5("{\"CORSRules\": []}")));
    assertTrue(notXml.body().contains("<Code>MalformedXML</Code>"), notXml.body());
    assertEquals(List.of(READS), s3.getBucketCors(r -> r.bucket("strict")).corsRules(), "as it was");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM s3_bucket_cors"));

    // a valid one, sent the same way, is taken
    S3MultipartTest.Answer taken = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "strict?cors", valid, b -> b,
        Map.of("Content-MD5", S3DeleteObjectsTest.md5(new String(valid, StandardCharsets.UTF_8))));
    assertEquals(200, taken.status(), taken.body());
    assertEquals(List.of(CORSRule.builder().allowedOrigins(APP).allowedMethods("GET").build()),
        s3.getBucketCors(r -> r.bucket("strict")).corsRules());
  }
}
