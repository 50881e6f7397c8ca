package io.mailgate.api.s3;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What an object keeps of the headers it was written with, as S3 keeps them, and gives back on GetObject and
 * HeadObject: the headers a browser or a CDN reads when the object is served ({@link #STANDARD}: Content-Type,
 * Content-Disposition...), and its user metadata ({@code x-amz-meta-*}, names lower-cased, a name sent twice keeping
 * both values joined by a comma; at most {@link #MAX_USER_BYTES} of names, without the prefix, and values, as S3
 * counts them: MetadataTooLarge past it). Kept as a JSON object of header names and values; null for none.
 *
 * <p>{@code aws-chunked}, the encoding of a streamed upload's body (not of the object), is not kept in its
 * Content-Encoding, as S3 drops it. A value with a control character is InvalidArgument: what is kept is given back
 * as a header. Objects written without a Content-Type are {@link #DEFAULT_CONTENT_TYPE}.
 */
final class ObjectMetadata {
  static final List<String> STANDARD = List.of("Content-Type", "Content-Disposition", "Content-Encoding",
      "Content-Language", "Cache-Control", "Expires");
  static final String USER_PREFIX = "x-amz-meta-";
  /** S3's limit on an object's user metadata: 2 KB of names and values. */
  static final int MAX_USER_BYTES = 2048;
  static final String DEFAULT_CONTENT_TYPE = "application/octet-stream";

  private ObjectMetadata() {}

  /**
   * The metadata a write's headers give its object (PutObject, CreateMultipartUpload, a copy's REPLACE); null for
   * none. A value with a control character is InvalidArgument, user metadata past 2 KB MetadataTooLarge.
   */
  static JsonObject of(MultiMap headers) {
    Map<String, String> kept = new LinkedHashMap<>();
    for (String name : STANDARD) {
      List<String> values = headers.getAll(name);
      String value = values.isEmpty() ? null : String.join(",", values);
      if (name.equals("Content-Encoding") && value != null) {
        value = withoutAwsChunked(value);
      }
      if (value != null) {
        kept.put(name, checked(name, value));
      }
    }
    for (Map.Entry<String, String> header : headers) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (name.startsWith(USER_PREFIX) && name.length() > USER_PREFIX.length()) {
        kept.merge(name, checked(name, header.getValue()), (first, more) -> first + "," + more);
      }
    }
    int userBytes = 0;
    for (Map.Entry<String, String> e : kept.entrySet()) {
      if (e.getKey().startsWith(USER_PREFIX)) {
        // a header is read as one char a byte: a length is its bytes'
        userBytes += e.getKey().length() - USER_PREFIX.length() + e.getValue().length();
      }
    }
    if (userBytes > MAX_USER_BYTES) {
      throw new S3Exception(S3Error.METADATA_TOO_LARGE).with("Size", Integer.toString(userBytes))
          .with("MaxSizeAllowed", Integer.toString(MAX_USER_BYTES));
    }
    return kept.isEmpty() ? null : new JsonObject(new LinkedHashMap<>(kept));
  }

  /**
   * The object's metadata on a GetObject's or HeadObject's answer, its Content-Type {@link #DEFAULT_CONTENT_TYPE}
   * when it has none.
   */
  static HttpServerResponse write(HttpServerResponse response, JsonObject metadata) {
    response.putHeader("Content-Type", DEFAULT_CONTENT_TYPE);
    if (metadata != null) {
      metadata.forEach(e -> response.putHeader(e.getKey(), String.valueOf(e.getValue())));
    }
    return response;
  }

  /** A Content-Encoding without {@code aws-chunked}, the streamed upload's; null when nothing else is left. */
  static String withoutAwsChunked(String value) {
    List<String> kept = new ArrayList<>();
    for (String coding : value.split(",")) {
      if (!coding.isBlank() && !coding.strip().equalsIgnoreCase("aws-chunked")) {
        kept.add(coding.strip());
      }
    }
    return kept.isEmpty() ? null : String.join(",", kept);
  }

  private static String checked(String name, String value) {
    if (!headerSafe(value)) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid value for header " + name + ": control characters are "
          + "not allowed.").with("ArgumentName", name);
    }
    return value;
  }

  /** Whether a header may carry the value: no control characters, nothing beyond ISO-8859-1. */
  static boolean headerSafe(String value) {
    return value.chars().allMatch(c -> (c >= 0x20 && c != 0x7F && c <= 0xFF) || c == '\t');
  }
}
