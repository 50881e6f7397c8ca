package io.mailgate.api.sigv4;

import io.mailgate.api.sigv4.Canonical.QueryParam;
import io.mailgate.api.sigv4.SigV4Result.Rejected;
import io.mailgate.api.sigv4.SigV4Result.Verified;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies AWS Signature Version 4 the way SES does, for requests signed in the {@code Authorization} header and
 * for presigned URLs (query-string authentication). Plain Java; thread-safe; one instance per server.
 *
 * <p>Accepted: algorithm {@code AWS4-HMAC-SHA256}, any region, the services in {@link #SES_SERVICES} (the SDKs sign
 * SES v1 and v2 as {@code ses}). The canonical URI is the received path encoded once more (non-S3 rules), so
 * {@code /v2/email/identities/user%40example.com} is signed as {@code .../user%2540example.com}. The payload hash is
 * the SHA-256 of the body actually received, always: {@code UNSIGNED-PAYLOAD} is S3's (AWS documents it for S3 only),
 * and honoured on SES it would let whoever sees a signed request send it again with any body (other recipients,
 * another webhook) for 15 minutes, or for days with a presigned URL. A client that signed it gets a mismatch.
 *
 * <p>A verifier made by {@link #forS3} accepts the signing name {@code s3} instead, with S3's rules where they
 * differ: the canonical URI is the path exactly as received (S3 neither encodes it again nor removes dot segments,
 * since an object key may hold {@code %2F} or {@code ..}), and a presigned URL that names no payload hash is signed
 * with {@code UNSIGNED-PAYLOAD}, as the S3 presigners sign it; {@code UNSIGNED-PAYLOAD} is honoured when the client
 * signed the {@code x-amz-content-sha256} header carrying it (or put it in a presigned URL), and so are S3's streaming
 * uploads ({@code STREAMING-...}, signed in the header only), whose chunks the caller checks with the verdict's
 * {@link ChunkSignatures}.
 *
 * <p>Failures carry a {@link SigV4Error} that maps to each API's error code and status, and the message SES sends.
 * Error messages follow AWS's wording where it is known: "Authorization header requires 'Credential' parameter...",
 * "The security token included in the request is invalid.", "The request signature we calculated does not match...",
 * "Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z (20240101T001600Z - 15 min.)",
 * "Signature not yet current: ... is still later than ... (... + 15 min.)", "Date in Credential scope does not match
 * YYYYMMDD from ISO-8601 version of date from HTTP: ...", "Credential should be scoped to correct service: 'ses'. ".
 */
public final class SigV4Verifier {

  public static final String ALGORITHM = "AWS4-HMAC-SHA256";
  public static final Duration DEFAULT_MAX_CLOCK_SKEW = Duration.ofMinutes(15);
  /** Signing names SES clients use: {@code ses} (all current SDKs and the CLI) and {@code email} (the endpoint). */
  public static final Set<String> SES_SERVICES = Set.of("ses", "email");
  /** The signing name of Amazon S3, whose API Mailgate serves for received mail. */
  public static final String S3_SERVICE = "s3";
  /** Presigned URLs live at most 7 days, like everywhere in AWS. */
  public static final long MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;

  static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
  /** S3's streaming uploads whose chunks are signed ({@link ChunkSignatures}), without and with a trailer. */
  public static final String STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  public static final String STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
  /** S3's streaming upload of unsigned chunks with a trailer (its checksum is what protects the content). */
  public static final String STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
  private static final Set<String> STREAMING = Set.of(STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
      STREAMING_UNSIGNED_TRAILER);
  static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  static final String SIGNATURE_MISMATCH_MESSAGE = "The request signature we calculated does not match the signature "
      + "you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for "
      + "details.";
  public static final String INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid.";

  private static final DateTimeFormatter BASIC_ISO =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  private static final Rejected MISSING = new Rejected(SigV4Error.MISSING_AUTHENTICATION_TOKEN,
      Rejected.MISSING_TOKEN_V2);

  private final Function<String, Optional<String>> secrets;
  private final Clock clock;
  private final long maxSkewSeconds;
  private final Set<String> services;
  /** The service a wrongly scoped credential is told to use. */
  private final String expectedService;
  private final SigningKeys signingKeys = new SigningKeys(10_000);
  private final SigV4aKeys sigV4aKeys = new SigV4aKeys(10_000);

  /** A verifier for SES with the AWS default of 15 minutes of clock skew. */
  public SigV4Verifier(Function<String, Optional<String>> secrets, Clock clock) {
    this(secrets, clock, DEFAULT_MAX_CLOCK_SKEW, SES_SERVICES);
  }

  /**
   * @param secrets access key id to secret access key; called once per request, so cache behind it
   * @param clock the server's clock
   * @param maxClockSkew how far the signing time may be from the server's time, either way
   * @param services accepted signing names (the credential scope's service)
   */
  public SigV4Verifier(Function<String, Optional<String>> secrets, Clock clock, Duration maxClockSkew,
      Set<String> services) {
    this.secrets = Objects.requireNonNull(secrets, "secrets");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.maxSkewSeconds = maxClockSkew.toSeconds();
    this.services = Set.copyOf(services);
    this.expectedService = services.contains("ses") ? "ses" : String.join("' or '", new TreeSet<>(services));
  }

  /** A verifier for S3 requests (signing name {@code s3}) with the AWS default of 15 minutes of clock skew. */
  public static SigV4Verifier forS3(Function<String, Optional<String>> secrets, Clock clock) {
    return new SigV4Verifier(secrets, clock, DEFAULT_MAX_CLOCK_SKEW, Set.of(S3_SERVICE));
  }

  /**
   * The parsed authorization, whichever way it came. {@code asymmetric}: SigV4a ({@link SigV4aKeys#ALGORITHM}), its
   * scope without a region and its {@code region} the signed {@code X-Amz-Region-Set}.
   */
  private record Auth(String accessKeyId, String scopeDate, String region, String service, String credentialScope,
      String signedHeaders, String signature, String amzDate, long signedAt, boolean asymmetric) {
    String algorithm() {
      return asymmetric ? SigV4aKeys.ALGORITHM : ALGORITHM;
    }
  }

  /** Verifies one request; never throws for bad input. */
  public SigV4Result verify(SigV4Request request) {
    String authorization = request.headers().first("authorization");
    List<QueryParam> query = Canonical.parseQuery(request.rawQuery());
    boolean presigned = find(query, "X-Amz-Algorithm") != null;
    if (authorization == null && !presigned) return MISSING;
    if (authorization != null && presigned) {
      return incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
          + "Authorization header should be specified");
    }
    return presigned ? verifyPresigned(request, query) : verifyHeader(request, authorization, query);
  }

  /**
   * An HTML form's POST policy (S3's browser-based uploads): {@code signature} must be the hex HMAC-SHA256 of
   * {@code policy} (the form's field as sent: its base64) under the signing key of {@code credential}'s access key,
   * date, region and service ({@code AKID/yyyymmdd/region/s3/aws4_request}). When the form may be sent is its
   * policy's expiration, not a request date: no clock skew is checked here. Never throws for bad input.
   */
  public SigV4Result verifyPolicy(String credential, String policy, String signature) {
    String[] scope = credential == null ? new String[0] : credential.split("/", -1);
    if (scope.length != 5 || scope[0].isEmpty() || !scope[1].matches("[0-9]{8}") || scope[2].isEmpty()
        || !services.contains(scope[3]) || !scope[4].equals("aws4_request")) {
      return incomplete("Error parsing the X-Amz-Credential field: '" + credential + "' is not "
          + "<access key>/<yyyymmdd>/<region>/s3/aws4_request.");
    }
    Optional<String> secret = secrets.apply(scope[0]);
    if (secret == null || secret.isEmpty()) {
      return new Rejected(SigV4Error.UNRECOGNIZED_CLIENT, INVALID_TOKEN_MESSAGE);
    }
    byte[] provided = signature == null ? null : decodeHex(signature);
    SecretKeySpec key = signingKeys.signingKey(secret.get(), scope[1], scope[2], scope[3]);
    if (provided == null || !java.security.MessageDigest.isEqual(
        SigningKeys.hmac(key, policy.getBytes(StandardCharsets.UTF_8)), provided)) {
      return new Rejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, SIGNATURE_MISMATCH_MESSAGE, policy);
    }
    return new Verified(scope[0], scope[2], scope[3], clock.instant(), null);
  }

  /**
   * The access key id a request claims, without verifying anything: lets a caller whose secret store is
   * asynchronous load the secret before calling {@link #verify}.
   */
  public static Optional<String> claimedAccessKeyId(SigV4Request request) {
    String credential = null;
    String authorization = request.headers().first("authorization");
    if (authorization != null) {
      int at = authorization.indexOf("Credential=");
      if (at >= 0) {
        int end = authorization.indexOf(',', at);
        credential = authorization.substring(at + "Credential=".length(), end < 0 ? authorization.length() : end);
      }
    } else {
      QueryParam p = find(Canonical.parseQuery(request.rawQuery()), "X-Amz-Credential");
      if (p != null) credential = Canonical.decode(p.rawValue());
    }
    if (credential == null) return Optional.empty();
    int slash = credential.indexOf('/');
    String id = (slash < 0 ? credential : credential.substring(0, slash)).trim();
    return id.isEmpty() ? Optional.empty() : Optional.of(id);
  }

  // ---- Authorization header -------------------------------------------------------------------------------------

  private SigV4Result verifyHeader(SigV4Request request, String authorization, List<QueryParam> query) {
    String value = authorization.trim();
    int sp = 0;
    while (sp < value.length() && !Canonical.isWhitespace(value.charAt(sp))) sp++;
    String algorithm = value.substring(0, sp);
    String credential = null;
    String signedHeaders = null;
    String signature = null;
    boolean pairWithoutEquals = false;
    int i = sp;
    while (i < value.length()) {
      int comma = value.indexOf(',', i);
      int end = comma < 0 ? value.length() : comma;
      int s = i;
      int e = end;
      while (s < e && Canonical.isWhitespace(value.charAt(s))) s++;
      while (e > s && Canonical.isWhitespace(value.charAt(e - 1))) e--;
      if (e > s) {
        int eq = value.indexOf('=', s);
        if (eq < 0 || eq >= e) {
          pairWithoutEquals = true;
        } else {
          String v = value.substring(eq + 1, e).trim();
          switch (value.substring(s, eq).trim()) {
            case "Credential" -> credential = v;
            case "SignedHeaders" -> signedHeaders = v;
            case "Signature" -> signature = v;
            default -> { } // AWS ignores unknown components
          }
        }
      }
      i = end + 1;
    }

    boolean fromDateHeader = false;
    String amzDate = request.headers().first("x-amz-date");
    if (amzDate == null) {
      amzDate = request.headers().first("date");
      fromDateHeader = amzDate != null;
    }

    boolean asymmetric = SigV4aKeys.ALGORITHM.equals(algorithm);
    boolean known = ALGORITHM.equals(algorithm) || asymmetric;
    if (known && pairWithoutEquals) {
      return incomplete("Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 "
          + "and encoded with Base64): '" + Base64.getEncoder().encodeToString(
              SigningKeys.sha256(authorization.getBytes(StandardCharsets.ISO_8859_1))) + "'.");
    }
    if (credential == null || signedHeaders == null || signature == null || amzDate == null) {
      StringBuilder msg = new StringBuilder(256);
      if (credential == null) msg.append("Authorization header requires 'Credential' parameter. ");
      if (signature == null) msg.append("Authorization header requires 'Signature' parameter. ");
      if (signedHeaders == null) msg.append("Authorization header requires 'SignedHeaders' parameter. ");
      if (amzDate == null) {
        msg.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
      }
      // AWS echoes a SigV4 header (no secret in it); of any other scheme only its name: a browser sends the console's
      // cached Basic credentials to every path under it, and an error body that repeated them would end in logs
      msg.append("Authorization=").append(known ? authorization : algorithm);
      return incomplete(msg.toString());
    }
    if (!known) {
      return incomplete("Unsupported AWS 'algorithm': '" + algorithm + "'. Only " + ALGORITHM + " and "
          + SigV4aKeys.ALGORITHM + " are supported.");
    }

    long signedAt = parseBasicIso(amzDate);
    if (signedAt == Long.MIN_VALUE && fromDateHeader) {
      signedAt = parseHttpDate(amzDate);
      if (signedAt != Long.MIN_VALUE) amzDate = BASIC_ISO.format(Instant.ofEpochSecond(signedAt));
    }
    if (signedAt == Long.MIN_VALUE) {
      return incomplete("Date must be in ISO-8601 'basic format'. Got '" + amzDate + "'. See "
          + "http://en.wikipedia.org/wiki/ISO_8601");
    }
    Object scoped = asymmetric
        ? parseScopeA(credential, signedHeaders, signature, amzDate, signedAt,
            request.headers().first("x-amz-region-set"))
        : parseCredential(credential, signedHeaders, signature, amzDate, signedAt);
    if (scoped instanceof Rejected r) return r;
    Auth auth = (Auth) scoped;

    long now = clock.instant().getEpochSecond();
    Rejected skew = checkSkew(auth, now);
    if (skew != null) return skew;
    return verifySignature(request, query, auth, null, false);
  }

  // ---- Presigned URL --------------------------------------------------------------------------------------------

  private SigV4Result verifyPresigned(SigV4Request request, List<QueryParam> query) {
    String algorithm = decodedParam(query, "X-Amz-Algorithm");
    String credential = decodedParam(query, "X-Amz-Credential");
    String amzDate = decodedParam(query, "X-Amz-Date");
    String signedHeaders = decodedParam(query, "X-Amz-SignedHeaders");
    String signature = decodedParam(query, "X-Amz-Signature");
    String expires = decodedParam(query, "X-Amz-Expires");
    if (credential == null || amzDate == null || signedHeaders == null || signature == null) {
      return incomplete("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
          + "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.");
    }
    if (!ALGORITHM.equals(algorithm)) {
      return incomplete("X-Amz-Algorithm only supports \"" + ALGORITHM + "\"");
    }
    long signedAt = parseBasicIso(amzDate);
    if (signedAt == Long.MIN_VALUE) {
      return incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    }
    long expiresSeconds = -1;
    if (expires != null) {
      expiresSeconds = parseNonNegativeLong(expires);
      if (expiresSeconds < 0) return incomplete("X-Amz-Expires should be a number");
      if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
        return incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800");
      }
    }
    Object scoped = parseCredential(credential, signedHeaders, signature, amzDate, signedAt);
    if (scoped instanceof Rejected r) return r;
    Auth auth = (Auth) scoped;

    long now = clock.instant().getEpochSecond();
    if (expiresSeconds < 0) {
      Rejected skew = checkSkew(auth, now); // no X-Amz-Expires: the same window as a header-signed request
      if (skew != null) return skew;
    } else {
      if (signedAt - now > maxSkewSeconds) return notYetCurrent(auth, now);
      if (now > signedAt + expiresSeconds) return new Rejected(SigV4Error.REQUEST_EXPIRED, "Request has expired.");
    }
    return verifySignature(request, query, auth, "X-Amz-Signature", true);
  }

  // ---- Shared steps ---------------------------------------------------------------------------------------------

  /** Splits {@code AKID/yyyyMMdd/region/service/aws4_request} and checks it against the date and services. */
  private Object parseCredential(String credential, String signedHeaders, String signature, String amzDate,
      long signedAt) {
    int s1 = credential.indexOf('/');
    int s2 = s1 < 0 ? -1 : credential.indexOf('/', s1 + 1);
    int s3 = s2 < 0 ? -1 : credential.indexOf('/', s2 + 1);
    int s4 = s3 < 0 ? -1 : credential.indexOf('/', s3 + 1);
    if (s4 < 0 || credential.indexOf('/', s4 + 1) >= 0) {
      return incomplete("Credential should have 5 slash-separated parts: "
          + "<access key id>/<yyyyMMdd>/<region>/<service>/aws4_request, not '" + credential + "'.");
    }
    String accessKeyId = credential.substring(0, s1);
    String scopeDate = credential.substring(s1 + 1, s2);
    String region = credential.substring(s2 + 1, s3);
    String service = credential.substring(s3 + 1, s4);
    String terminator = credential.substring(s4 + 1);
    if (!"aws4_request".equals(terminator)) {
      return incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '"
          + terminator + "'.");
    }
    if (accessKeyId.isEmpty()) {
      return new Rejected(SigV4Error.UNRECOGNIZED_CLIENT, INVALID_TOKEN_MESSAGE);
    }
    if (region.isEmpty()) {
      return incomplete("Credential should be scoped to a valid region, not ''. ");
    }
    if (!services.contains(service)) {
      return new Rejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH,
          "Credential should be scoped to correct service: '" + expectedService + "'. ");
    }
    if (!amzDate.regionMatches(0, scopeDate, 0, 8) || scopeDate.length() != 8) {
      return new Rejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, "Date in Credential scope does not match YYYYMMDD "
          + "from ISO-8601 version of date from HTTP: '" + scopeDate + "' != '" + amzDate.substring(0, 8)
          + "', from '" + amzDate + "'.");
    }
    if (signedHeaders.isEmpty()) {
      return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    }
    return new Auth(accessKeyId, scopeDate, region, service, credential.substring(s1 + 1), signedHeaders, signature,
        amzDate, signedAt, false);
  }

  /**
   * SigV4a's {@code AKID/yyyyMMdd/service/aws4_request}: {@link #parseCredential} with a region put in where SigV4 has
   * it, then the regions from {@code X-Amz-Region-Set}, which the signature must cover (any set is taken, as any
   * region is for SigV4: Mailgate is every region).
   */
  private Object parseScopeA(String credential, String signedHeaders, String signature, String amzDate,
      long signedAt, String regionSet) {
    int s1 = credential.indexOf('/');
    int s2 = s1 < 0 ? -1 : credential.indexOf('/', s1 + 1);
    int s3 = s2 < 0 ? -1 : credential.indexOf('/', s2 + 1);
    if (s3 < 0 || credential.indexOf('/', s3 + 1) >= 0) {
      return incomplete("Credential should have 4 slash-separated parts: "
          + "<access key id>/<yyyyMMdd>/<service>/aws4_request, not '" + credential + "'.");
    }
    Object scoped = parseCredential(credential.substring(0, s2) + "/-" + credential.substring(s2), signedHeaders,
        signature, amzDate, signedAt);
    if (scoped instanceof Rejected r) {
      return r;
    }
    if (regionSet == null || regionSet.isBlank() || !(";" + signedHeaders + ";").contains(";x-amz-region-set;")) {
      return incomplete("SigV4a requires 'X-Amz-Region-Set' to be a signed header.");
    }
    Auth a = (Auth) scoped;
    return new Auth(a.accessKeyId(), a.scopeDate(), regionSet.strip(), a.service(), credential.substring(s1 + 1),
        a.signedHeaders(), a.signature(), a.amzDate(), a.signedAt(), true);
  }

  private Rejected checkSkew(Auth auth, long now) {
    if (now - auth.signedAt() > maxSkewSeconds) {
      return new Rejected(SigV4Error.SIGNATURE_EXPIRED, "Signature expired: " + auth.amzDate()
          + " is now earlier than " + iso(now - maxSkewSeconds) + " (" + iso(now) + " - " + skewText() + ")");
    }
    if (auth.signedAt() - now > maxSkewSeconds) return notYetCurrent(auth, now);
    return null;
  }

  private Rejected notYetCurrent(Auth auth, long now) {
    return new Rejected(SigV4Error.SIGNATURE_EXPIRED, "Signature not yet current: " + auth.amzDate()
        + " is still later than " + iso(now + maxSkewSeconds) + " (" + iso(now) + " + " + skewText() + ")");
  }

  private SigV4Result verifySignature(SigV4Request request, List<QueryParam> query, Auth auth,
      String excludeParam, boolean presigned) {
    Optional<String> secret = secrets.apply(auth.accessKeyId());
    if (secret == null || secret.isEmpty()) {
      return new Rejected(SigV4Error.UNRECOGNIZED_CLIENT, INVALID_TOKEN_MESSAGE);
    }

    String signedHeaders = auth.signedHeaders();
    StringBuilder canonical = new StringBuilder(512);
    canonical.append(request.method()).append('\n');
    boolean s3 = S3_SERVICE.equals(auth.service());
    if (s3) {
      Canonical.appendS3CanonicalUri(canonical, request.rawPath());
    } else {
      Canonical.appendCanonicalUri(canonical, request.rawPath());
    }
    canonical.append('\n');
    Canonical.appendCanonicalQuery(canonical, query, excludeParam);
    canonical.append('\n');

    boolean hostSigned = false;
    boolean contentSha256Signed = false;
    boolean wide = false;
    int start = 0;
    int len = signedHeaders.length();
    while (start < len) {
      int semi = signedHeaders.indexOf(';', start);
      int end = semi < 0 ? len : semi;
      String name = signedHeaders.substring(start, end);
      if (name.equals("host")) hostSigned = true;
      if (name.equals("x-amz-content-sha256")) contentSha256Signed = true;
      canonical.append(name).append(':');
      List<String> values = request.headers().getAll(name);
      if (values != null) {
        for (int v = 0; v < values.size(); v++) {
          if (v > 0) canonical.append(',');
          wide |= Canonical.appendTrimmedHeaderValue(canonical, values.get(v));
        }
      }
      canonical.append('\n');
      start = end + 1;
    }
    if (!hostSigned) {
      return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    }
    canonical.append('\n').append(signedHeaders).append('\n');
    String payloadHash = payloadHash(request, query, presigned, contentSha256Signed, s3);
    canonical.append(payloadHash);

    byte[] canonicalBytes = canonical.toString().getBytes(
        wide ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    StringBuilder toSign = new StringBuilder(160);
    toSign.append(auth.algorithm()).append('\n').append(auth.amzDate()).append('\n')
        .append(auth.credentialScope()).append('\n');
    appendHex(toSign, SigningKeys.sha256(canonicalBytes));

    byte[] provided = decodeHex(auth.signature());
    byte[] stringToSign = toSign.toString().getBytes(StandardCharsets.ISO_8859_1);
    boolean matches;
    SecretKeySpec key = null;
    if (auth.asymmetric()) {
      matches = provided != null && sigV4aKeys.verify(auth.accessKeyId(), secret.get(), stringToSign, provided);
    } else {
      key = signingKeys.signingKey(secret.get(), auth.scopeDate(), auth.region(), auth.service());
      matches = provided != null && java.security.MessageDigest.isEqual(SigningKeys.hmac(key, stringToSign), provided);
    }
    if (!matches) {
      return new Rejected(SigV4Error.SIGNATURE_DOES_NOT_MATCH, SIGNATURE_MISMATCH_MESSAGE,
          new String(canonicalBytes, wide ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1));
    }
    boolean signedChunks = payloadHash.equals(STREAMING_SIGNED) || payloadHash.equals(STREAMING_SIGNED_TRAILER);
    if (signedChunks && key == null) { // SigV4a chunks are signed with ECDSA: not verified here, so not taken
      return incomplete("Streaming uploads signed with " + SigV4aKeys.ALGORITHM + " are not supported; sign them "
          + "with " + ALGORITHM + ".");
    }
    return new Verified(auth.accessKeyId(), auth.region(), auth.service(), Instant.ofEpochSecond(auth.signedAt()),
        signedChunks ? new ChunkSignatures(key, auth.amzDate(), auth.credentialScope(), auth.signature()) : null);
  }

  /**
   * The hash the client must have signed: of the body received, unless (S3 only) it signed UNSIGNED-PAYLOAD (which an
   * S3 presigned URL that names no hash stands for).
   */
  private static String payloadHash(SigV4Request request, List<QueryParam> query, boolean presigned,
      boolean contentSha256Signed, boolean s3) {
    String claimed = request.headers().first("x-amz-content-sha256");
    if (claimed == null && presigned) claimed = decodedParam(query, "X-Amz-Content-Sha256");
    if (claimed == null && presigned && s3) return UNSIGNED_PAYLOAD;
    if (UNSIGNED_PAYLOAD.equals(claimed) && s3 && (contentSha256Signed || presigned)) return UNSIGNED_PAYLOAD;
    // a streaming upload: the chunks carry their own signatures (or, unsigned, a checksum), checked as they are read
    if (claimed != null && s3 && contentSha256Signed && !presigned && STREAMING.contains(claimed)) return claimed;
    if (request.bodySha256() != null) return request.bodySha256();
    byte[] body = request.body();
    if (body == null) return claimed != null ? claimed : EMPTY_SHA256;
    return bodySha256(body);
  }

  private static String bodySha256(byte[] body) {
    return body.length == 0 ? EMPTY_SHA256 : bodySha256(java.nio.ByteBuffer.wrap(body));
  }

  /**
   * The payload hash of a body held in these buffers, one after the other, as SigV4 writes it: the SHA-256 of its
   * bytes in lower-case hex ({@link SigV4Request#bodySha256()}).
   */
  public static String bodySha256(java.nio.ByteBuffer... body) {
    StringBuilder hex = new StringBuilder(64);
    appendHex(hex, SigningKeys.sha256(body));
    return hex.toString();
  }

  // ---- Small helpers --------------------------------------------------------------------------------------------

  private static Rejected incomplete(String message) {
    return new Rejected(SigV4Error.INCOMPLETE_SIGNATURE, message);
  }

  private static QueryParam find(List<QueryParam> query, String rawKey) {
    for (int i = 0; i < query.size(); i++) {
      if (query.get(i).rawKey().equals(rawKey)) return query.get(i);
    }
    return null;
  }

  private static String decodedParam(List<QueryParam> query, String rawKey) {
    QueryParam p = find(query, rawKey);
    return p == null ? null : Canonical.decode(p.rawValue());
  }

  private String skewText() {
    return maxSkewSeconds % 60 == 0 ? (maxSkewSeconds / 60) + " min." : maxSkewSeconds + " sec.";
  }

  private static String iso(long epochSecond) {
    return BASIC_ISO.format(Instant.ofEpochSecond(epochSecond));
  }

  /** {@code yyyyMMdd'T'HHmmss'Z'} to epoch seconds, or {@link Long#MIN_VALUE}; no formatter on the hot path. */
  static long parseBasicIso(String s) {
    if (s.length() != 16 || s.charAt(8) != 'T' || s.charAt(15) != 'Z') return Long.MIN_VALUE;
    for (int i = 0; i < 15; i++) {
      if (i != 8 && (s.charAt(i) < '0' || s.charAt(i) > '9')) return Long.MIN_VALUE;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 4, 2);
    int day = digits(s, 6, 2);
    int hour = digits(s, 9, 2);
    int minute = digits(s, 11, 2);
    int second = digits(s, 13, 2);
    if (hour > 23 || minute > 59 || second > 59) return Long.MIN_VALUE;
    try {
      return LocalDate.of(year, month, day).toEpochDay() * 86_400L + hour * 3600L + minute * 60L + second;
    } catch (DateTimeException e) {
      return Long.MIN_VALUE;
    }
  }

  private static long parseHttpDate(String s) {
    try {
      return ZonedDateTime.parse(s.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
    } catch (DateTimeException e) {
      return Long.MIN_VALUE;
    }
  }

  private static int digits(String s, int from, int count) {
    int v = 0;
    for (int i = from; i < from + count; i++) v = v * 10 + (s.charAt(i) - '0');
    return v;
  }

  private static long parseNonNegativeLong(String s) {
    if (s.isEmpty() || s.length() > 12) return -1;
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  }

  static void appendHex(StringBuilder out, byte[] bytes) {
    char[] hex = new char[bytes.length * 2];
    for (int i = 0; i < bytes.length; i++) {
      hex[2 * i] = HEX[(bytes[i] >>> 4) & 0xF];
      hex[2 * i + 1] = HEX[bytes[i] & 0xF];
    }
    out.append(hex);
  }

  /**
   * A signature as SigV4 and SigV4a write it, lower-case hex (one spelling per signature) of up to 80 bytes (an
   * HMAC-SHA256 is 32, a DER ECDSA P-256 signature at most 72); null for anything else.
   */
  private static byte[] decodeHex(String hex) {
    if (hex.isEmpty() || hex.length() % 2 != 0 || hex.length() > 160) return null;
    byte[] out = new byte[hex.length() / 2];
    for (int i = 0; i < out.length; i++) {
      int hi = lowerHex(hex.charAt(2 * i));
      int lo = lowerHex(hex.charAt(2 * i + 1));
      if (hi < 0 || lo < 0) return null;
      out[i] = (byte) (hi << 4 | lo);
    }
    return out;
  }

  private static int lowerHex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  }
}
