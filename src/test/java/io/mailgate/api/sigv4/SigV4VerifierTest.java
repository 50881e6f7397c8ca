package io.mailgate.api.sigv4;

import static io.mailgate.api.sigv4.SdkRequests.ACCESS_KEY_ID;
import static io.mailgate.api.sigv4.SdkRequests.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.api.sigv4.SdkRequests.Captured;
import io.mailgate.api.sigv4.SigV4Result.Rejected;
import io.mailgate.api.sigv4.SigV4Result.Verified;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.regions.Region;

class SigV4VerifierTest {

  private static final Map<String, String> SECRETS = Map.of(ACCESS_KEY_ID, SECRET);

  private static SigV4Verifier verifierAt(Instant now) {
    return new SigV4Verifier(id -> Optional.ofNullable(SECRETS.get(id)), Clock.fixed(now, ZoneOffset.UTC));
  }

  /** Verifies with the server clock equal to the request's own signing time. */
  private static SigV4Result verifyAtSigningTime(Captured c) {
    return verifierAt(signingTime(c)).verify(c.toSigV4());
  }

  private static Instant signingTime(Captured c) {
    String date = c.header("X-Amz-Date");
    if (date == null) date = c.http().firstMatchingRawQueryParameter("X-Amz-Date").orElseThrow();
    return Instant.ofEpochSecond(SigV4Verifier.parseBasicIso(date));
  }

  private static Captured v2SendEmail() {
    return SdkRequests.sesV2(Region.EU_WEST_1, c -> c.sendEmail(r -> r
        .fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("a@example.net", "b@example.net"))
        .content(ct -> ct.simple(m -> m.subject(s -> s.data("Hello \u00e9t\u00e9"))
            .body(b -> b.text(t -> t.data("Body with unicode \u2713 and  two  spaces")))))));
  }

  private static Captured listSuppressed() {
    return SdkRequests.sesV2(Region.US_EAST_1, client -> client.listSuppressedDestinations(r -> r
        .reasonsWithStrings("BOUNCE", "COMPLAINT")
        .startDate(Instant.parse("2024-01-01T00:00:00Z"))
        .pageSize(10)
        .nextToken("abc/def+ghi=&x y")));
  }

  private static Rejected assertRejected(SigV4Error expected, SigV4Result result) {
    Rejected r = assertInstanceOf(Rejected.class, result, () -> "expected rejection, got " + result);
    assertEquals(expected, r.error(), () -> "message: " + r.message());
    return r;
  }

  private static Captured withHeaders(Captured c, UnaryOperator<Map<String, List<String>>> change) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    c.http().headers().forEach((k, v) -> headers.put(k, new ArrayList<>(v)));
    Map<String, List<String>> changed = change.apply(headers);
    return new Captured(c.http().toBuilder().headers(changed).build(), c.body());
  }

  // ---- Requests as the SDKs sign them ---------------------------------------------------------------------------

  @Test
  void sesV2JsonPostVerifies() {
    Captured c = v2SendEmail();
    assertEquals("POST", c.http().method().name());
    assertEquals("/v2/email/outbound-emails", c.http().encodedPath());
    assertTrue(c.body().length > 0);

    Verified v = assertInstanceOf(Verified.class, verifyAtSigningTime(c));
    assertEquals(ACCESS_KEY_ID, v.accessKeyId());
    assertEquals("eu-west-1", v.region());
    assertEquals("ses", v.service());
    assertEquals(signingTime(c), v.signedAt());
  }

  /**
   * A send naming an EndpointId (SES multi-region endpoints) is signed with SigV4a by the SDK (the AWS CRT signer):
   * verified with the P-256 key derived from the same secret, its scope without a region, the signed region set as
   * its region; an altered body, another secret or an unsigned region set is refused.
   */
  @Test
  void sigV4aAsTheSdkSignsAnEndpointIdSendVerifies() {
    Captured c = SdkRequests.sesV2(Region.EU_WEST_1, client -> client.sendEmail(r -> r.endpointId("abc123.def456")
        .fromEmailAddress("sender@example.com").destination(d -> d.toAddresses("a@example.net"))
        .content(ct -> ct.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))));
    assertTrue(c.header("Authorization").startsWith("AWS4-ECDSA-P256-SHA256 Credential=" + ACCESS_KEY_ID + "/"),
        c.header("Authorization"));
    Verified v = assertInstanceOf(Verified.class, verifyAtSigningTime(c));
    assertEquals(ACCESS_KEY_ID, v.accessKeyId());
    assertEquals("*", v.region());
    assertEquals("ses", v.service());

    byte[] altered = c.body().clone();
    altered[altered.length - 3] ^= 1;
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifyAtSigningTime(new Captured(c.http(), altered)));
    SigV4Verifier otherSecret = new SigV4Verifier(id -> Optional.of(SECRET + "x"),
        Clock.fixed(signingTime(c), ZoneOffset.UTC));
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, otherSecret.verify(c.toSigV4()));
    Captured noRegionSet = withHeaders(c, h -> {
      h.keySet().removeIf(k -> k.equalsIgnoreCase("X-Amz-Region-Set"));
      return h;
    });
    assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifyAtSigningTime(noRegionSet));
    Captured regionScoped = withHeaders(c, h -> {
      h.replaceAll((k, values) -> k.equalsIgnoreCase("Authorization")
          ? List.of(values.get(0).replace("/ses/aws4_request", "/eu-west-1/ses/aws4_request")) : values);
      return h;
    });
    Rejected fiveParts = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifyAtSigningTime(regionScoped));
    assertTrue(fiveParts.message().contains("4 slash-separated parts"), fiveParts.message());
  }

  /** The public point SigV4a verifies with is d·G on P-256: 2G and (n-1)G = -G as published (SEC 2, NIST). */
  @Test
  void p256MultiplicationMatchesKnownPoints() {
    java.math.BigInteger[] twoG = SigV4aKeys.multiply(java.math.BigInteger.TWO);
    assertEquals("7cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978", twoG[0].toString(16));
    assertEquals("7775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1", twoG[1].toString(16));
    java.math.BigInteger n = new java.math.BigInteger(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16);
    java.math.BigInteger[] minusG = SigV4aKeys.multiply(n.subtract(java.math.BigInteger.ONE));
    assertEquals("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", minusG[0].toString(16));
    assertEquals("b01cbd1c01e58065711814b583f061e9d431cca994cea1313449bf97c840ae0a", minusG[1].toString(16));
  }

  @Test
  void sesV2GetWithQueryParametersVerifies() {
    // ListSuppressedDestinations is a GET with repeated keys and encoded values (ListEmailIdentities is a POST
    // to /v2/email/list-identities in current SDKs).
    Captured c = listSuppressed();
    assertEquals("GET", c.http().method().name());
    String query = c.http().getUri().getRawQuery();
    assertTrue(query.contains("Reason=BOUNCE&Reason=COMPLAINT"), query);
    assertTrue(query.contains("NextToken=abc%2Fdef%2Bghi%3D%26x%20y"), query);

    assertInstanceOf(Verified.class, verifyAtSigningTime(c));
  }

  @Test
  void sesV2PathWithPercentEncodedSegmentVerifies() {
    Captured c = SdkRequests.sesV2(Region.US_WEST_2, client -> client.getEmailIdentity(r -> r
        .emailIdentity("user+tag@example.com")));
    String rawPath = c.http().getUri().getRawPath();
    assertTrue(rawPath.startsWith("/v2/email/identities/user"), rawPath);
    assertTrue(rawPath.contains("%40"), rawPath);

    Verified v = assertInstanceOf(Verified.class, verifyAtSigningTime(c));
    assertEquals("us-west-2", v.region());
  }

  @Test
  void sesV1QueryPostVerifies() {
    Captured c = SdkRequests.sesV1(Region.US_EAST_1, client -> client.sendEmail(r -> r
        .source("sender@example.com")
        .destination(d -> d.toAddresses("to@example.net"))
        .message(m -> m.subject(s -> s.data("Hi & bye")).body(b -> b.text(t -> t.data("x = y + z"))))));
    assertEquals("POST", c.http().method().name());
    String body = new String(c.body(), StandardCharsets.UTF_8);
    assertTrue(body.startsWith("Action=SendEmail"), body);

    Verified v = assertInstanceOf(Verified.class, verifyAtSigningTime(c));
    assertEquals("ses", v.service());
  }

  @Test
  void sesV1RawEmailWithBinaryPayloadVerifies() {
    Captured c = SdkRequests.sesV1(Region.AP_SOUTHEAST_2, client -> client.sendRawEmail(r -> r
        .rawMessage(m -> m.data(SdkBytes.fromUtf8String("From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n")))));
    assertInstanceOf(Verified.class, verifyAtSigningTime(c));
  }

  @Test
  void presignedGetVerifies() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured c = SdkRequests.sign(get("/v2/email/account", null), null, "ses", "us-east-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, Duration.ofMinutes(10));
    assertTrue(c.http().getUri().getRawQuery().contains("X-Amz-Signature="));
    assertEquals(Optional.empty(), c.http().firstMatchingHeader("Authorization"));

    Verified v = assertInstanceOf(Verified.class, verifierAt(at.plusSeconds(599)).verify(c.toSigV4()));
    assertEquals(at, v.signedAt());
  }

  @Test
  void emailSigningNameIsAcceptedToo() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured c = SdkRequests.sign(get("/v2/email/account", null), null, "email", "eu-central-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, null);
    Verified v = assertInstanceOf(Verified.class, verifierAt(at).verify(c.toSigV4()));
    assertEquals("email", v.service());
  }

  // ---- Vectors in the style of the AWS SigV4 test suite ---------------------------------------------------------

  private static final Instant SUITE_TIME = Instant.parse("2015-08-30T12:36:00Z");
  private static final String SUITE_KEY = "AKIDEXAMPLE";
  private static final String SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

  private static SigV4Verifier suiteVerifier() {
    return new SigV4Verifier(id -> id.equals(SUITE_KEY) ? Optional.of(SUITE_SECRET) : Optional.empty(),
        Clock.fixed(SUITE_TIME, ZoneOffset.UTC), Duration.ofMinutes(15), Set.of("service"));
  }

  private static SigV4Request suiteRequest(String path, String query, String signature) {
    return new SigV4Request("GET", path, query, RequestHeaders.of(Map.of(
        "Host", List.of("example.amazonaws.com"),
        "X-Amz-Date", List.of("20150830T123600Z"),
        "Authorization", List.of("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=" + signature))), new byte[0]);
  }

  @Test
  void awsSuiteGetVanilla() {
    assertInstanceOf(Verified.class, suiteVerifier().verify(suiteRequest("/", null,
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")));
  }

  @Test
  void awsSuiteGetVanillaQueryOrderKeyCase() {
    assertInstanceOf(Verified.class, suiteVerifier().verify(suiteRequest("/", "Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")));
  }

  @Test
  void awsSuiteStyleVectorsAgreeWithSdkSigner() {
    // Each case is signed by the SDK and must verify; the same signature must fail on a neighbouring request.
    String[][] cases = {
        {"/", "Param1=value1&Param2=value2"},
        {"/", "Param1=value2&Param1=Value1"},         // same key twice: sorted by value
        {"/", "Param1=value1&Param1=value2&a=&b"},    // empty values, key without '='
        {"/example space/", null},                    // space in path
        {"/%E1%88%B4", null},                         // UTF-8 path
        {"/", "%E1%88%B4=bar"},                       // UTF-8 query key
        {"/v2/email/identities/a%40b.example", "x=%2F%2B%3D"},
        {"", null},                                   // empty path is "/"
    };
    for (String[] tc : cases) {
      SdkHttpFullRequest req = SdkHttpFullRequest.builder()
          .method(SdkHttpMethod.GET)
          .uri(URI.create("https://example.amazonaws.com" + tc[0] .replace(" ", "%20")
              + (tc[1] == null ? "" : "?" + tc[1])))
          .putHeader("My-Header1", "  value1   with   spaces  ")
          .appendHeader("My-Header2", "a")
          .appendHeader("My-Header2", "b")
          .build();
      Captured c = SdkRequests.sign(req, null, "ses", "us-east-1", Clock.fixed(SUITE_TIME, ZoneOffset.UTC),
          ACCESS_KEY_ID, SECRET, null);
      SigV4Result result = verifierAt(SUITE_TIME).verify(c.toSigV4());
      assertInstanceOf(Verified.class, result, () -> tc[0] + "?" + tc[1] + " -> " + result);

      Captured changed = withHeaders(c, h -> {
        h.put("My-Header2", List.of("b", "a")); // order of repeated values matters
        return h;
      });
      assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(SUITE_TIME).verify(changed.toSigV4()));
    }
  }

  @Test
  void canonicalUriEncodesTheReceivedPathOnceMore() {
    StringBuilder sb = new StringBuilder();
    Canonical.appendCanonicalUri(sb, "/v2/email/identities/user%40example.com");
    assertEquals("/v2/email/identities/user%2540example.com", sb.toString());
    sb.setLength(0);
    Canonical.appendCanonicalUri(sb, "/a/./b/../c");
    assertEquals("/a/c", sb.toString());
    sb.setLength(0);
    Canonical.appendCanonicalQuery(sb, Canonical.parseQuery("b=2&a=x%2fy&a=%41&c"), null);
    assertEquals("a=A&a=x%2Fy&b=2&c=", sb.toString());
    sb.setLength(0);
    Canonical.appendCanonicalQuery(sb, Canonical.parseQuery("k=\u00e9\u00e9\u00e9aaaaaaaaaa%41&\ud83d\ude00=%zz"), null);
    assertEquals("%F0%9F%98%80=%25zz&k=%C3%A9%C3%A9%C3%A9aaaaaaaaaaA", sb.toString());
  }

  // ---- Failures -------------------------------------------------------------------------------------------------

  @Test
  void tamperedBodyFails() {
    Captured c = v2SendEmail();
    byte[] body = c.body().clone();
    body[body.length / 2] ^= 1;
    Rejected r = assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH,
        verifierAt(signingTime(c)).verify(new Captured(c.http(), body).toSigV4()));
    assertEquals("SignatureDoesNotMatch", r.code(SesApi.V2_REST_JSON));
    assertEquals(403, r.httpStatus(SesApi.V2_REST_JSON));
    assertEquals("SignatureDoesNotMatch", r.code(SesApi.V1_QUERY));
    assertEquals(403, r.httpStatus(SesApi.V1_QUERY));
    assertEquals(SigV4Verifier.SIGNATURE_MISMATCH_MESSAGE, r.message(SesApi.V2_REST_JSON));
    assertTrue(r.canonicalRequest().startsWith("POST\n/v2/email/outbound-emails\n"), r.canonicalRequest());
  }

  @Test
  void tamperedQueryFails() {
    Captured c = listSuppressed();
    SigV4Request original = c.toSigV4();
    SigV4Request tampered = new SigV4Request(original.method(), original.rawPath(),
        original.rawQuery().replace("PageSize=10", "PageSize=1000"), original.headers(), original.body());
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(signingTime(c)).verify(tampered));
  }

  @Test
  void tamperedSignedHeaderFails() {
    Captured c = v2SendEmail();
    Captured tampered = withHeaders(c, h -> {
      h.put("Host", List.of("evil.example:8080"));
      return h;
    });
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(signingTime(c)).verify(tampered.toSigV4()));
  }

  @Test
  void unsignedHeadersMayChange() {
    Captured c = v2SendEmail();
    Captured changed = withHeaders(c, h -> {
      h.put("X-Forwarded-For", List.of("10.0.0.1"));
      h.put("User-Agent", List.of("something else"));
      return h;
    });
    assertInstanceOf(Verified.class, verifierAt(signingTime(c)).verify(changed.toSigV4()));
  }

  @Test
  void missingSignedHeaderFails() {
    Captured c = v2SendEmail();
    String signed = c.header("Authorization");
    assertTrue(signed.contains("content-type"), signed);
    Captured missing = withHeaders(c, h -> {
      h.keySet().removeIf(k -> k.equalsIgnoreCase("Content-Type"));
      return h;
    });
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(signingTime(c)).verify(missing.toSigV4()));
  }

  @Test
  void wrongSecretFails() {
    Captured c = v2SendEmail();
    SigV4Verifier verifier = new SigV4Verifier(id -> Optional.of("not-the-secret"),
        Clock.fixed(signingTime(c), ZoneOffset.UTC));
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifier.verify(c.toSigV4()));
  }

  @Test
  void unknownAccessKeyFails() {
    Captured c = v2SendEmail();
    SigV4Verifier verifier = new SigV4Verifier(id -> Optional.empty(), Clock.fixed(signingTime(c), ZoneOffset.UTC));
    Rejected r = assertRejected(SigV4Error.UNRECOGNIZED_CLIENT, verifier.verify(c.toSigV4()));
    assertEquals("UnrecognizedClientException", r.code(SesApi.V2_REST_JSON));
    assertEquals("InvalidClientTokenId", r.code(SesApi.V1_QUERY));
    assertEquals(403, r.httpStatus(SesApi.V1_QUERY));
    assertEquals("The security token included in the request is invalid.", r.message(SesApi.V1_QUERY));
  }

  @Test
  void sixteenMinuteOldSignatureIsExpired() {
    Captured c = v2SendEmail();
    Instant signedAt = signingTime(c);
    Rejected r = assertRejected(SigV4Error.SIGNATURE_EXPIRED,
        verifierAt(signedAt.plus(Duration.ofMinutes(16))).verify(c.toSigV4()));
    assertTrue(r.message(SesApi.V2_REST_JSON).startsWith("Signature expired: " + c.header("X-Amz-Date")
        + " is now earlier than "), r.message(SesApi.V2_REST_JSON));
    assertTrue(r.message(SesApi.V2_REST_JSON).endsWith(" - 15 min.)"), r.message(SesApi.V2_REST_JSON));
    assertEquals("SignatureDoesNotMatch", r.code(SesApi.V2_REST_JSON));
    assertEquals("SignatureDoesNotMatch", r.code(SesApi.V1_QUERY));

    // 14 minutes is within the allowed skew, both ways.
    assertInstanceOf(Verified.class, verifierAt(signedAt.plus(Duration.ofMinutes(14))).verify(c.toSigV4()));
    assertInstanceOf(Verified.class, verifierAt(signedAt.minus(Duration.ofMinutes(14))).verify(c.toSigV4()));
  }

  @Test
  void signatureFromTheFutureIsRejected() {
    Captured c = v2SendEmail();
    Rejected r = assertRejected(SigV4Error.SIGNATURE_EXPIRED,
        verifierAt(signingTime(c).minus(Duration.ofMinutes(16))).verify(c.toSigV4()));
    assertTrue(r.message().startsWith("Signature not yet current: "), r.message());
  }

  @Test
  void clockSkewIsConfigurable() {
    Captured c = v2SendEmail();
    SigV4Verifier strict = new SigV4Verifier(id -> Optional.of(SECRET),
        Clock.fixed(signingTime(c).plusSeconds(301), ZoneOffset.UTC), Duration.ofMinutes(5),
        SigV4Verifier.SES_SERVICES);
    Rejected r = assertRejected(SigV4Error.SIGNATURE_EXPIRED, strict.verify(c.toSigV4()));
    assertTrue(r.message().endsWith(" - 5 min.)"), r.message());
  }

  @Test
  void expiredPresignedUrlFails() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured c = SdkRequests.sign(get("/v2/email/account", null), null, "ses", "us-east-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, Duration.ofMinutes(10));
    Rejected r = assertRejected(SigV4Error.REQUEST_EXPIRED, verifierAt(at.plusSeconds(601)).verify(c.toSigV4()));
    assertEquals("RequestExpired", r.code(SesApi.V1_QUERY));
    assertEquals(400, r.httpStatus(SesApi.V1_QUERY));
  }

  @Test
  void presignedUrlLongerThanAWeekIsRefused() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured c = SdkRequests.sign(get("/v2/email/account", null), null, "ses", "us-east-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, Duration.ofMinutes(10));
    SigV4Request r = c.toSigV4();
    SigV4Request longLived = new SigV4Request(r.method(), r.rawPath(),
        r.rawQuery().replace("X-Amz-Expires=600", "X-Amz-Expires=604801"), r.headers(), r.body());
    assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifierAt(at).verify(longLived));
  }

  @Test
  void presignedUrlWithChangedQueryFails() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured c = SdkRequests.sign(get("/v2/email/identities", "PageSize=5"), null, "ses", "us-east-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, Duration.ofMinutes(10));
    SigV4Request r = c.toSigV4();
    assertInstanceOf(Verified.class, verifierAt(at).verify(r));
    SigV4Request changed = new SigV4Request(r.method(), r.rawPath(), r.rawQuery().replace("PageSize=5",
        "PageSize=50"), r.headers(), r.body());
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(at).verify(changed));
  }

  @Test
  void noAuthenticationAtAll() {
    SigV4Request r = new SigV4Request("POST", "/v2/email/outbound-emails", null,
        RequestHeaders.of(Map.of("Host", List.of("localhost"))), new byte[0]);
    Rejected rejected = assertRejected(SigV4Error.MISSING_AUTHENTICATION_TOKEN, verifierAt(Instant.now()).verify(r));
    assertEquals("MissingAuthenticationTokenException", rejected.code(SesApi.V2_REST_JSON));
    assertEquals("Missing Authentication Token", rejected.message(SesApi.V2_REST_JSON));
    assertEquals(403, rejected.httpStatus(SesApi.V2_REST_JSON));
    assertEquals("MissingAuthenticationToken", rejected.code(SesApi.V1_QUERY));
    assertEquals("Request is missing Authentication Token", rejected.message(SesApi.V1_QUERY));
  }

  @Test
  void malformedAuthorizationHeaders() {
    SigV4Verifier verifier = verifierAt(Instant.parse("2024-03-01T10:00:00Z"));

    Rejected bearer = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE,
        verifier.verify(withAuthorization("Bearer abc.def", null)));
    assertEquals("Authorization header requires 'Credential' parameter. Authorization header requires "
        + "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header "
        + "requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer",
        bearer.message());
    assertEquals("IncompleteSignatureException", bearer.code(SesApi.V2_REST_JSON));
    assertEquals(403, bearer.httpStatus(SesApi.V2_REST_JSON));
    assertEquals("IncompleteSignature", bearer.code(SesApi.V1_QUERY));
    assertEquals(400, bearer.httpStatus(SesApi.V1_QUERY));

    Rejected noSignature = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifier.verify(withAuthorization(
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/20240301/us-east-1/ses/aws4_request, "
            + "SignedHeaders=host;x-amz-date", "20240301T100000Z")));
    assertTrue(noSignature.message().startsWith("Authorization header requires 'Signature' parameter. "
        + "Authorization="), noSignature.message());

    Rejected noEquals = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifier.verify(withAuthorization(
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/20240301/us-east-1/ses/aws4_request, "
            + "SignedHeaders, Signature=00", "20240301T100000Z")));
    assertTrue(noEquals.message().startsWith("Invalid key=value pair (missing equal-sign)"), noEquals.message());

    Rejected shortScope = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifier.verify(withAuthorization(
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/20240301/us-east-1/ses, SignedHeaders=host;x-amz-date, "
            + "Signature=" + "0".repeat(64), "20240301T100000Z")));
    assertTrue(shortScope.message().startsWith("Credential should have 5 slash-separated parts"),
        shortScope.message());

    Rejected badDate = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifier.verify(withAuthorization(
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/20240301/us-east-1/ses/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64), "2024-03-01T10:00:00Z")));
    assertTrue(badDate.message().startsWith("Date must be in ISO-8601 'basic format'."), badDate.message());

    Rejected hostNotSigned = assertRejected(SigV4Error.INCOMPLETE_SIGNATURE, verifier.verify(withAuthorization(
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/20240301/us-east-1/ses/aws4_request, "
            + "SignedHeaders=x-amz-date, Signature=" + "0".repeat(64), "20240301T100000Z")));
    assertEquals("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        hostNotSigned.message());
  }

  @Test
  void garbageIsRejectedNotThrown() {
    SigV4Verifier verifier = verifierAt(Instant.parse("2024-03-01T10:00:00Z"));
    String[] authorizations = {"", " ", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 ,,,,",
        "AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;;, Signature=zz",
        "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=" + "g".repeat(64),
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/20240301//ses/aws4_request, SignedHeaders=host, "
            + "Signature=" + "0".repeat(64),
        "AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID + "/2024030/us-east-1/ses/aws4_request, SignedHeaders=host, "
            + "Signature=" + "0".repeat(64),
        "AWS4-HMAC-SHA512 Credential=a/20240301/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=00",
        "AWS AKIDEXAMPLE:c2lnbmF0dXJl"};
    String[] dates = {null, "", "20240301T100000Z", "20241301T100000Z", "20240230T100000Z", "20240301T250000Z",
        "Fri, 01 Mar 2024 10:00:00 GMT", "x".repeat(16)};
    for (String authorization : authorizations) {
      for (String date : dates) {
        SigV4Result r = verifier.verify(withAuthorization(authorization, date));
        assertInstanceOf(Rejected.class, r, authorization + " / " + date);
      }
    }
    String[] queries = {"X-Amz-Algorithm", "X-Amz-Algorithm=&X-Amz-Credential=%", "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        + "&X-Amz-Credential=a%2F20240301%2Fus-east-1%2Fses%2Faws4_request&X-Amz-Date=20240301T100000Z"
        + "&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=-1", "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        + "&X-Amz-Credential=a%2F20240301%2Fus-east-1%2Fses%2Faws4_request&X-Amz-Date=20240301T100000Z"
        + "&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=99999999999999999999", "&&&=&=="};
    for (String query : queries) {
      SigV4Result r = verifier.verify(new SigV4Request("GET", "/", query,
          RequestHeaders.of(Map.of("Host", List.of("localhost"))), new byte[0]));
      assertInstanceOf(Rejected.class, r, query);
    }
  }

  @Test
  void credentialScopeDateMustMatchXAmzDate() {
    Captured c = v2SendEmail();
    String amzDate = c.header("X-Amz-Date");
    String nextDay = SigV4VerifierTest.basicIso(signingTime(c).plus(Duration.ofDays(1)));
    Captured moved = withHeaders(c, h -> {
      h.put("X-Amz-Date", List.of(nextDay));
      return h;
    });
    Rejected r = assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH,
        verifierAt(signingTime(c).plus(Duration.ofDays(1))).verify(moved.toSigV4()));
    assertEquals("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"
        + amzDate.substring(0, 8) + "' != '" + nextDay.substring(0, 8) + "', from '" + nextDay + "'.", r.message());
  }

  @Test
  void otherServicesAreRejected() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured c = SdkRequests.sign(get("/", null), null, "s3", "us-east-1", Clock.fixed(at, ZoneOffset.UTC),
        ACCESS_KEY_ID, SECRET, null);
    Rejected r = assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(at).verify(c.toSigV4()));
    assertEquals("Credential should be scoped to correct service: 'ses'. ", r.message());
  }

  // ---- S3 (received mail read back through the S3 API) -----------------------------------------------------------

  private static SigV4Verifier s3VerifierAt(Instant now) {
    return SigV4Verifier.forS3(id -> Optional.ofNullable(SECRETS.get(id)), Clock.fixed(now, ZoneOffset.UTC));
  }

  @Test
  void s3RequestsVerifyWithTheReceivedPathAsTheirCanonicalUri() {
    // escapes S3 signs once ("%2520" would be the non-S3 rule's), and dot segments it keeps
    Captured c = SdkRequests.s3(client -> client.getObject(r -> r.bucket("inbox")
        .key("mail/a b/Zo\u00eb %41/./x/../y"), (response, in) -> null));
    String path = c.http().getUri().getRawPath();
    assertEquals("/s3/inbox/mail/a%20b/Zo%C3%AB%20%2541/./x/../y", path);
    assertEquals("UNSIGNED-PAYLOAD", c.header("x-amz-content-sha256"));
    Verified v = assertInstanceOf(Verified.class, s3VerifierAt(signingTime(c)).verify(c.toSigV4()));
    assertEquals("s3", v.service());

    // the SES verifier knows nothing of S3, and the S3 one nothing of SES
    Rejected ses = assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifyAtSigningTime(c));
    assertEquals("Credential should be scoped to correct service: 'ses'. ", ses.message());
    Rejected s3 = assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH,
        s3VerifierAt(signingTime(v2SendEmail())).verify(v2SendEmail().toSigV4()));
    assertEquals("Credential should be scoped to correct service: 's3'. ", s3.message());

    // another key in the same signature's place
    Captured moved = new Captured(c.http().toBuilder().encodedPath("/s3/inbox/mail/a%20b/other").build(), c.body());
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, s3VerifierAt(signingTime(c)).verify(moved.toSigV4()));
  }

  @Test
  void s3ListingWithQueryParametersVerifies() {
    Captured c = SdkRequests.s3(client -> client.listObjectsV2(r -> r.bucket("inbox").prefix("in/Zo\u00eb ")
        .delimiter("/").maxKeys(10).continuationToken("abc+/=")));
    assertEquals("/s3/inbox", c.http().getUri().getRawPath());
    assertInstanceOf(Verified.class, s3VerifierAt(signingTime(c)).verify(c.toSigV4()));
  }

  @Test
  void s3PresignedUrlIsSignedWithUnsignedPayload() {
    URI url;
    try (var presigner = software.amazon.awssdk.services.s3.presigner.S3Presigner.builder()
        .region(Region.US_EAST_1)
        .endpointOverride(URI.create("http://localhost:8080/s3"))
        .serviceConfiguration(software.amazon.awssdk.services.s3.S3Configuration.builder()
            .pathStyleAccessEnabled(true).build())
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(ACCESS_KEY_ID, SECRET)))
        .build()) {
      url = presigner.presignGetObject(r -> r.signatureDuration(Duration.ofMinutes(10))
          .getObjectRequest(g -> g.bucket("inbox").key("a b"))).url().toURI();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    assertFalse(url.getRawQuery().contains("X-Amz-Content-Sha256"), url.toString());
    SigV4Request request = new SigV4Request("GET", url.getRawPath(), url.getRawQuery(),
        RequestHeaders.of(Map.of("Host", List.of("localhost:8080"))), new byte[0]);
    String date = url.getRawQuery().replaceAll(".*X-Amz-Date=([0-9TZ]+).*", "$1");
    Instant signedAt = Instant.ofEpochSecond(SigV4Verifier.parseBasicIso(date));
    assertInstanceOf(Verified.class, s3VerifierAt(signedAt.plusSeconds(599)).verify(request));
    assertRejected(SigV4Error.REQUEST_EXPIRED, s3VerifierAt(signedAt.plusSeconds(601)).verify(request));
  }

  @Test
  void unsignedPayloadIsS3sNotSes() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    SdkHttpFullRequest unsigned = SdkHttpFullRequest.builder().method(SdkHttpMethod.POST)
        .uri(URI.create("https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"))
        .putHeader("x-amz-content-sha256", "UNSIGNED-PAYLOAD").build();
    Captured c = SdkRequests.sign(unsigned, body, "ses", "us-east-1", Clock.fixed(at, ZoneOffset.UTC),
        ACCESS_KEY_ID, SECRET, null, false);
    assertTrue(c.header("Authorization").contains("x-amz-content-sha256"), c.header("Authorization"));
    assertEquals("UNSIGNED-PAYLOAD", c.header("x-amz-content-sha256"));
    // SES hashes the body received: a request signed without its body could be sent again with any body (other
    // recipients, another webhook) by whoever saw it
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifierAt(at).verify(c.toSigV4()));
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH,
        verifierAt(at).verify(new Captured(c.http(), "{}".getBytes()).toSigV4()));

    // An attacker cannot switch a signed body to UNSIGNED-PAYLOAD by adding the header.
    Captured normal = v2SendEmail();
    Captured forged = withHeaders(normal, h -> {
      h.put("x-amz-content-sha256", List.of("UNSIGNED-PAYLOAD"));
      return h;
    });
    byte[] otherBody = "{}".getBytes(StandardCharsets.UTF_8);
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH,
        verifierAt(signingTime(normal)).verify(new Captured(forged.http(), otherBody).toSigV4()));
  }

  @Test
  void claimedAccessKeyIdIsReadWithoutVerifying() {
    assertEquals(Optional.of(ACCESS_KEY_ID), SigV4Verifier.claimedAccessKeyId(v2SendEmail().toSigV4()));
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured presigned = SdkRequests.sign(get("/v2/email/account", null), null, "ses", "us-east-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, Duration.ofMinutes(10));
    assertEquals(Optional.of(ACCESS_KEY_ID), SigV4Verifier.claimedAccessKeyId(presigned.toSigV4()));
    assertEquals(Optional.empty(), SigV4Verifier.claimedAccessKeyId(withAuthorization("Bearer x", null)));
  }

  @Test
  void signaturesDifferAcrossRegions() {
    Instant at = Instant.parse("2024-03-01T10:00:00Z");
    Captured east = SdkRequests.sign(get("/v2/email/account", null), null, "ses", "us-east-1",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, null);
    Captured west = SdkRequests.sign(get("/v2/email/account", null), null, "ses", "us-west-2",
        Clock.fixed(at, ZoneOffset.UTC), ACCESS_KEY_ID, SECRET, null);
    assertNotEquals(east.header("Authorization"), west.header("Authorization"));
    // Swap the credential scope's region: the cached signing key for the other region must not verify it.
    SigV4Verifier verifier = verifierAt(at);
    assertInstanceOf(Verified.class, verifier.verify(east.toSigV4()));
    assertInstanceOf(Verified.class, verifier.verify(west.toSigV4()));
    Captured swapped = withHeaders(east, h -> {
      h.put("Authorization", List.of(east.header("Authorization").replace("us-east-1", "us-west-2")));
      return h;
    });
    assertRejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, verifier.verify(swapped.toSigV4()));
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  private static SdkHttpFullRequest get(String path, String query) {
    return SdkHttpFullRequest.builder().method(SdkHttpMethod.GET)
        .uri(URI.create("https://email.us-east-1.amazonaws.com" + path + (query == null ? "" : "?" + query)))
        .build();
  }

  private static SigV4Request withAuthorization(String authorization, String amzDate) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    headers.put("Host", List.of("localhost:8080"));
    headers.put("Authorization", List.of(authorization));
    if (amzDate != null) headers.put("X-Amz-Date", List.of(amzDate));
    return new SigV4Request("GET", "/v2/email/account", null, RequestHeaders.of(headers), new byte[0]);
  }

  static String basicIso(Instant instant) {
    return java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)
        .format(instant);
  }
}
