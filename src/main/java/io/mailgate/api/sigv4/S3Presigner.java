package io.mailgate.api.sigv4;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import javax.crypto.spec.SecretKeySpec;

/**
 * Presigned GET URLs of S3 objects (SigV4 query-string authentication, signing name {@code s3}, host the only signed
 * header, {@code UNSIGNED-PAYLOAD}), as the S3 presigners make them and {@link SigV4Verifier#forS3} checks them: what
 * GetExportJob answers for an export's file, so that anyone holding the link can fetch it until it expires. Plain Java.
 */
public final class S3Presigner {
  private static final DateTimeFormatter DATE_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final SigningKeys KEYS = new SigningKeys(64);

  private S3Presigner() {}

  /**
   * The URL that GETs {@code key} of {@code bucket} from {@code scheme://host} (the Host its client will send) under
   * {@code path} (the S3 endpoint's, {@code /s3}), signed with the access key {@code accessKeyId} and its
   * {@code secret} for {@code region} at {@code now}, valid for {@code valid} (at most a week, as S3 allows).
   */
  public static String get(String scheme, String host, String path, String bucket, String key, String accessKeyId,
      String secret, String region, Instant now, Duration valid) {
    StringBuilder rawPath = new StringBuilder(path).append('/');
    Canonical.encode(rawPath, bucket, false);
    rawPath.append('/');
    Canonical.encode(rawPath, key, true);
    String dateTime = DATE_TIME.format(now);
    String date = dateTime.substring(0, 8);
    String scope = date + "/" + region + "/" + SigV4Verifier.S3_SERVICE + "/aws4_request";
    StringBuilder query = new StringBuilder("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    Canonical.encode(query, accessKeyId + "/" + scope, false);
    query.append("&X-Amz-Date=").append(dateTime).append("&X-Amz-Expires=").append(valid.toSeconds())
        .append("&X-Amz-SignedHeaders=host");
    StringBuilder canonical = new StringBuilder(256).append("GET\n");
    Canonical.appendS3CanonicalUri(canonical, rawPath.toString());
    canonical.append('\n');
    Canonical.appendCanonicalQuery(canonical, Canonical.parseQuery(query.toString()), null);
    canonical.append("\nhost:").append(host).append("\n\nhost\nUNSIGNED-PAYLOAD");
    StringBuilder toSign = new StringBuilder(160).append("AWS4-HMAC-SHA256\n").append(dateTime).append('\n')
        .append(scope).append('\n');
    SigV4Verifier.appendHex(toSign, SigningKeys.sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)));
    SecretKeySpec signingKey = KEYS.signingKey(secret, date, region, SigV4Verifier.S3_SERVICE);
    StringBuilder url = new StringBuilder(scheme).append("://").append(host).append(rawPath).append('?').append(query)
        .append("&X-Amz-Signature=");
    SigV4Verifier.appendHex(url, SigningKeys.hmac(signingKey, toSign.toString().getBytes(StandardCharsets.UTF_8)));
    return url.toString();
  }
}
