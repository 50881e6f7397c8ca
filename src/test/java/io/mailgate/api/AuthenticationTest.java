package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.config.MailgateConfig;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.SesV2Exception;

/** SigV4 as the SDK signs it: the right signature passes, anything else is refused as SES refuses it. */
class AuthenticationTest {
  static RecordingSmtpServer relay;
  static TestNode node;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  static void send(SesV2Client ses) {
    ses.sendEmail(r -> r.fromEmailAddress("a@example.com").destination(d -> d.toAddresses("b@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b"))))));
  }

  static long stored() {
    return Db.count(node.config().get(MailgateConfig.PG_URL), "SELECT count(*) FROM messages");
  }

  /**
   * A client whose clock is 20 minutes off is refused once, then corrects itself from the Date header of the refusal
   * and succeeds, as against SES; without the header it fails every call.
   */
  @Test
  void aClientWithAWrongClockCorrectsItFromTheDateHeader() {
    try (TestNode ahead = TestNode.start(relay.url(), java.time.Clock.offset(java.time.Clock.systemUTC(),
        java.time.Duration.ofMinutes(20)));
         SesV2Client ses = SesV2Client.builder().endpointOverride(ahead.endpoint())
             .region(software.amazon.awssdk.regions.Region.US_EAST_1)
             .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                 software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(TestNode.ACCESS_KEY, TestNode.SECRET)))
             .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
             // two attempts are the refusal and the corrected retry; one more for a pooled connection that the
             // JVM-wide keep-alive cache of HttpURLConnection kept to an earlier test's node on the same port
             .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(3))).build()) {
      ses.getAccount(r -> { }); // refused, then retried with the clock corrected
      HttpResponse<String> r = ahead.signed("GET", "/v2/email/account", null, Map.of());
      assertEquals(403, r.statusCode(), "this client signs with its own clock and does not correct it");
      java.time.Instant date = java.time.ZonedDateTime.parse(r.headers().firstValue("Date").orElseThrow(),
          java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      assertTrue(date.isAfter(java.time.Instant.now().plusSeconds(19 * 60)), "the node's time: " + date);
    }
  }

  /** Node-wide delivery state names every tenant's destinations: only operator accounts read it. */
  @Test
  void onlyOperatorsReadNodeWideState() {
    assertEquals(200, node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).statusCode(),
        "start-dev's account is an operator");
    io.mailgate.identity.Accounts.NewKey tenant = node.createAccount("tenant-sites", true, 10, 100);
    assertEquals(404, node.signed("GET", "/_mailgate/delivery/sites", null, Map.of(), tenant.accessKeyId(),
        tenant.secretAccessKey()).statusCode());
  }

  @Test
  void wrongSecretIsRefused() {
    long before = stored();
    try (SesV2Client ses = node.sesV2(TestNode.ACCESS_KEY, "not-the-secret-not-the-secret-not-the-sec")) {
      SesV2Exception e = assertThrows(SesV2Exception.class, () -> send(ses));
      assertEquals(403, e.statusCode());
      assertEquals("SignatureDoesNotMatch", e.awsErrorDetails().errorCode());
    }
    assertEquals(before, stored());
  }

  @Test
  void tamperedRequestIsRefused() {
    long before = stored();
    HttpResponse<String> ok = node.signed("GET", "/v2/email/account", null, Map.of());
    assertEquals(200, ok.statusCode(), ok.body());
    // a signature computed for another path, replayed on this one
    HttpResponse<String> signedElsewhere = node.signed("GET", "/v2/email/account", null, Map.of());
    String auth = signedElsewhere.request().headers().firstValue("Authorization").orElseThrow();
    String date = signedElsewhere.request().headers().firstValue("X-Amz-Date").orElseThrow();
    HttpResponse<String> replayed = raw("GET", "/v2/email/identities", null, Map.of("Authorization", auth, "X-Amz-Date", date));
    assertEquals(403, replayed.statusCode());
    assertEquals("SignatureDoesNotMatch", replayed.headers().firstValue("x-amzn-ErrorType").orElse(null));
    // a flipped signature character
    String flipped = auth.substring(0, auth.length() - 1) + (auth.endsWith("0") ? "1" : "0");
    HttpResponse<String> bad = raw("GET", "/v2/email/account", null, Map.of("Authorization", flipped, "X-Amz-Date", date));
    assertEquals(403, bad.statusCode());
    assertEquals("SignatureDoesNotMatch", bad.headers().firstValue("x-amzn-ErrorType").orElse(null));
    // the same signature in upper-case hex: SigV4 writes one spelling, lower-case
    Map<String, String> headers = new java.util.HashMap<>();
    node.sign("GET", "/v2/email/account", new byte[0], Map.of(), TestNode.ACCESS_KEY, TestNode.SECRET).request()
        .headers().forEach((name, values) -> {
          if (!name.equalsIgnoreCase("host")) {
            headers.put(name, values.get(0));
          }
        });
    assertEquals(200, raw("GET", "/v2/email/account", null, headers).statusCode(), "as signed");
    String signed = headers.get("Authorization");
    int at = signed.indexOf("Signature=") + "Signature=".length();
    headers.put("Authorization", signed.substring(0, at) + signed.substring(at).toUpperCase(java.util.Locale.ROOT));
    assertTrue(!headers.get("Authorization").equals(signed), signed);
    HttpResponse<String> shouted = raw("GET", "/v2/email/account", null, headers);
    assertEquals(403, shouted.statusCode());
    assertEquals("SignatureDoesNotMatch", shouted.headers().firstValue("x-amzn-ErrorType").orElse(null));
    assertEquals(before, stored());
  }

  /**
   * A browser sends the console's Basic credentials to every path under /_mailgate/: the refusal names the scheme, as
   * SES's IncompleteSignature does, but does not repeat the credentials (error bodies end up in logs).
   */
  @Test
  void basicCredentialsAreNotRepeatedInTheRefusal() {
    String basic = java.util.Base64.getEncoder().encodeToString((TestNode.ACCESS_KEY + ":" + TestNode.SECRET)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    HttpResponse<String> r = raw("GET", "/_mailgate/messages/0100000000000000-x", null, Map.of("Authorization",
        "Basic " + basic));
    assertEquals(403, r.statusCode(), r.body());
    assertEquals("IncompleteSignatureException", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
    assertTrue(r.body().contains("Authorization=Basic"), r.body());
    assertTrue(!r.body().contains(basic), r.body());
  }

  @Test
  void presignedUrlIsAcceptedUntilItExpires() throws Exception {
    software.amazon.awssdk.http.SdkHttpRequest request = software.amazon.awssdk.http.SdkHttpRequest.builder()
        .method(software.amazon.awssdk.http.SdkHttpMethod.GET).uri(node.endpoint().resolve("/v2/email/account")).build();
    java.util.function.Function<java.time.Duration, java.net.URI> presign = expires ->
        software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner.create().sign(r -> r
            .identity(software.amazon.awssdk.identity.spi.AwsCredentialsIdentity.create(TestNode.ACCESS_KEY, TestNode.SECRET))
            .request(request)
            .putProperty(software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner.SERVICE_SIGNING_NAME, "ses")
            .putProperty(software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner.REGION_NAME, "eu-west-1")
            .putProperty(software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner.AUTH_LOCATION,
                software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
            .putProperty(software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner.EXPIRATION_DURATION, expires))
            .request().getUri();
    java.net.URI url = presign.apply(java.time.Duration.ofMinutes(5));
    assertTrue(url.getQuery().contains("X-Amz-Signature="), url.toString());
    HttpResponse<String> ok = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(url).version(java.net.http.HttpClient.Version.HTTP_1_1).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    java.net.URI expired = presign.apply(java.time.Duration.ofSeconds(1));
    Thread.sleep(2100);
    HttpResponse<String> late = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(expired).version(java.net.http.HttpClient.Version.HTTP_1_1).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(403, late.statusCode(), late.body());
  }

  @Test
  void disabledKeyIsRefused() {
    var key = node.createAccount("disabled-key", true, 10, 100);
    try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      ses.getAccount(r -> { });
      node.withAccounts(a -> a.setKeyEnabled(key.accessKeyId(), false));
      io.mailgate.testing.Await.until(() -> {
        try {
          ses.getAccount(r -> { });
          return false;
        } catch (SesV2Exception e) {
          return e.statusCode() == 403 && e.awsErrorDetails().errorCode().equals("UnrecognizedClientException");
        }
      }, java.time.Duration.ofSeconds(10));
    }
  }

  private static HttpResponse<String> raw(String method, String path, String body, Map<String, String> headers) {
    try {
      var b = java.net.http.HttpRequest.newBuilder(node.endpoint().resolve(path)).version(java.net.http.HttpClient.Version.HTTP_1_1)
          .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
              : java.net.http.HttpRequest.BodyPublishers.ofString(body));
      headers.forEach(b::header);
      return java.net.http.HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
