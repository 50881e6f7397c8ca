package io.mailgate.loadgen;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 for requests whose signed headers are exactly {@code content-type}, {@code host} and
 * {@code x-amz-date} (what the benchmark sends), written here so the load generator shares no code with the server
 * that verifies it.
 *
 * <p>Cheap by construction: the signing key is derived once per UTC day, the {@code x-amz-date} string once per
 * second, the payload hash is passed in (bodies are precomputed), and the digest, MAC and scratch buffers are reused.
 * Per request that leaves one SHA-256 of the canonical request (about 300 bytes) and one HMAC of the string to sign.
 *
 * <p>Not thread-safe: one instance per event loop.
 */
final class SigV4Signer {
  static final String ALGORITHM = "AWS4-HMAC-SHA256";
  static final String SIGNED_HEADERS = "content-type;host;x-amz-date";

  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final String accessKeyId;
  private final byte[] secretKey;
  private final String region;
  private final String service;
  private final MessageDigest sha256;
  private final Mac keyMac;
  private final Mac signingMac;
  private final StringBuilder text = new StringBuilder(512);
  private byte[] scratch = new byte[512];
  private final char[] hex = new char[64];

  private String signingDay = "";
  private String scopeSuffix = "";
  private long dateSecond = Long.MIN_VALUE;
  private String amzDate = "";

  SigV4Signer(String accessKeyId, String secretAccessKey, String region, String service) {
    this.accessKeyId = accessKeyId;
    this.secretKey = ("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8);
    this.region = region;
    this.service = service;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
      keyMac = Mac.getInstance("HmacSHA256");
      signingMac = Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256/HmacSHA256 unavailable", e);
    }
  }

  /** The {@code x-amz-date} value for a wall-clock time; recomputed only when the second changes. */
  String amzDate(long epochMillis) {
    long second = Math.floorDiv(epochMillis, 1000);
    if (second != dateSecond) {
      dateSecond = second;
      amzDate = AMZ_DATE.format(Instant.ofEpochSecond(second));
    }
    return amzDate;
  }

  /**
   * The {@code Authorization} header value.
   *
   * @param canonicalQuery the canonical query string (sorted, encoded), empty when there is none
   * @param amzDate the {@code x-amz-date} header value sent with the request (from {@link #amzDate})
   * @param payloadSha256Hex lower-case hex SHA-256 of the exact body bytes sent
   */
  String authorization(String method, String path, String canonicalQuery, String contentType, String host,
      String amzDate, String payloadSha256Hex) {
    String day = amzDate.substring(0, 8);
    if (!day.equals(signingDay)) {
      deriveSigningKey(day);
    }
    StringBuilder b = text;
    b.setLength(0);
    b.append(method).append('\n').append(path).append('\n').append(canonicalQuery).append('\n')
        .append("content-type:").append(contentType).append('\n')
        .append("host:").append(host).append('\n')
        .append("x-amz-date:").append(amzDate).append('\n')
        .append('\n')
        .append(SIGNED_HEADERS).append('\n')
        .append(payloadSha256Hex);
    sha256.update(ascii(b), 0, b.length());
    String canonicalHash = hex(sha256.digest());

    b.setLength(0);
    b.append(ALGORITHM).append('\n').append(amzDate).append('\n').append(day).append(scopeSuffix).append('\n')
        .append(canonicalHash);
    signingMac.update(ascii(b), 0, b.length());
    String signature = hex(signingMac.doFinal());

    b.setLength(0);
    b.append(ALGORITHM).append(" Credential=").append(accessKeyId).append('/').append(day).append(scopeSuffix)
        .append(", SignedHeaders=").append(SIGNED_HEADERS).append(", Signature=").append(signature);
    return b.toString();
  }

  /** Lower-case hex SHA-256 of a body (done once per precomputed body, not per request). */
  static String sha256Hex(byte[] data) {
    try {
      return toHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private void deriveSigningKey(String day) {
    byte[] k = hmac(secretKey, day);
    k = hmac(k, region);
    k = hmac(k, service);
    k = hmac(k, "aws4_request");
    try {
      signingMac.init(new SecretKeySpec(k, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    signingDay = day;
    scopeSuffix = "/" + region + "/" + service + "/aws4_request";
  }

  private byte[] hmac(byte[] key, String data) {
    try {
      keyMac.init(new SecretKeySpec(key, "HmacSHA256"));
      return keyMac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Everything signed here is ASCII (paths, dates, hex, header values), so one byte per char. */
  private byte[] ascii(CharSequence s) {
    int n = s.length();
    if (scratch.length < n) {
      scratch = new byte[Math.max(n, scratch.length * 2)];
    }
    for (int i = 0; i < n; i++) {
      scratch[i] = (byte) s.charAt(i);
    }
    return scratch;
  }

  private String hex(byte[] bytes) {
    for (int i = 0; i < 32; i++) {
      hex[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      hex[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(hex);
  }

  static String toHex(byte[] bytes) {
    char[] out = new char[bytes.length * 2];
    for (int i = 0; i < bytes.length; i++) {
      out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(out);
  }

  /**
   * Checks the signer against the worked example in AWS's SigV4 documentation (IAM ListUsers, 2015-08-30,
   * secret {@code wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY}). Run with {@code --self-test}.
   */
  static void selfTest() {
    SigV4Signer s = new SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "iam");
    String auth = s.authorization("GET", "/", "Action=ListUsers&Version=2010-05-08",
        "application/x-www-form-urlencoded; charset=utf-8", "iam.amazonaws.com", "20150830T123600Z",
        sha256Hex(new byte[0]));
    String expected = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        + "SignedHeaders=content-type;host;x-amz-date, "
        + "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    if (!auth.equals(expected)) {
      throw new IllegalStateException("SigV4 self-test failed:\n  got      " + auth + "\n  expected " + expected);
    }
    if (!s.amzDate(1440938160000L).equals("20150830T123600Z")) {
      throw new IllegalStateException("x-amz-date formatting failed: " + s.amzDate(1440938160000L));
    }
  }
}
