package io.mailgate.api.s3;

import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.xml.stream.XMLStreamConstants;

/**
 * An object's tags, as S3 keeps them: at most {@link #MAX_TAGS} keys (1 to 128 characters, none twice, none beginning
 * with {@code aws:}) with values (up to 256), of letters, digits, white space and {@code + - = . _ : / @}; InvalidTag
 * otherwise. Given with a write ({@code x-amz-tagging: k1=v1&k2=v2}, URL-encoded: PutObject, CreateMultipartUpload, a
 * copy's REPLACE) or by PutObjectTagging's {@code <Tagging>} document; kept as a JSON object of keys and values.
 */
final class ObjectTags {
  static final int MAX_TAGS = 10;
  static final int MAX_KEY = 128;
  static final int MAX_VALUE = 256;

  private ObjectTags() {}

  /** The tags of an {@code x-amz-tagging} header (null: none). */
  static JsonObject ofHeader(String header) {
    if (header == null || header.isEmpty()) {
      return null;
    }
    Map<String, String> tags = new LinkedHashMap<>();
    for (String pair : header.split("&", -1)) {
      int eq = pair.indexOf('=');
      String key;
      String value;
      try {
        key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException malformed) {
        throw new S3Exception(S3Error.INVALID_ARGUMENT, "The header 'x-amz-tagging' shall be encoded as UTF-8 then "
            + "URLEncoded URL query parameters without tag name duplicates.").with("ArgumentName", "x-amz-tagging");
      }
      add(tags, key, value);
    }
    return checked(tags);
  }

  /** The tags of a PutObjectTagging document ({@code <Tagging><TagSet><Tag><Key/><Value/></Tag>...}); MalformedXML. */
  static JsonObject ofDocument(byte[] document) {
    Map<String, String> tags = S3Xml.read(document, "Tagging", r -> {
      Map<String, String> read = new LinkedHashMap<>();
      if (r.nextTag() != XMLStreamConstants.START_ELEMENT || !r.getLocalName().equals("TagSet")) {
        throw new S3Exception(S3Error.MALFORMED_XML);
      }
      while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
        if (!r.getLocalName().equals("Tag")) {
          throw new S3Exception(S3Error.MALFORMED_XML);
        }
        String key = null;
        String value = null;
        while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
          switch (r.getLocalName()) {
            case "Key" -> key = r.getElementText();
            case "Value" -> value = r.getElementText();
            default -> throw new S3Exception(S3Error.MALFORMED_XML);
          }
        }
        if (key == null || value == null) {
          throw new S3Exception(S3Error.MALFORMED_XML);
        }
        add(read, key, value);
      }
      if (r.nextTag() != XMLStreamConstants.END_ELEMENT) { // </Tagging>, nothing after the TagSet
        throw new S3Exception(S3Error.MALFORMED_XML);
      }
      return read;
    });
    JsonObject checked = checked(tags);
    return checked == null ? new JsonObject() : checked;
  }

  private static void add(Map<String, String> tags, String key, String value) {
    if (tags.putIfAbsent(key, value) != null) {
      throw new S3Exception(S3Error.INVALID_TAG, "Cannot provide multiple Tags with the same key");
    }
  }

  private static JsonObject checked(Map<String, String> tags) {
    if (tags.size() > MAX_TAGS) {
      throw new S3Exception(S3Error.INVALID_TAG, "Object tags cannot be greater than " + MAX_TAGS);
    }
    for (Map.Entry<String, String> t : tags.entrySet()) {
      String key = t.getKey();
      if (key.isEmpty() || key.codePointCount(0, key.length()) > MAX_KEY || !allowed(key)
          || key.regionMatches(true, 0, "aws:", 0, 4)) {
        throw new S3Exception(S3Error.INVALID_TAG, "The TagKey you have provided is invalid").with("TagKey", key);
      }
      String value = t.getValue();
      if (value.codePointCount(0, value.length()) > MAX_VALUE || !allowed(value)) {
        throw new S3Exception(S3Error.INVALID_TAG, "The TagValue you have provided is invalid").with("TagKey", key);
      }
    }
    return tags.isEmpty() ? null : new JsonObject(new LinkedHashMap<>(tags));
  }

  /** Letters, digits, white space and {@code + - = . _ : / @}, as S3 takes them in tags. */
  private static boolean allowed(String s) {
    return s.codePoints().allMatch(c -> Character.isLetterOrDigit(c) || c == ' ' || c == '\t'
        || "+-=._:/@".indexOf(c) >= 0);
  }

  /** GetObjectTagging's {@code <Tagging>}: the object's tags (null: none). */
  static String document(JsonObject tags) {
    StringBuilder b = S3Xml.open("Tagging").append("<TagSet>");
    if (tags != null) {
      tags.forEach(t -> {
        b.append("<Tag>");
        S3Xml.text(b, "Key", t.getKey());
        S3Xml.text(b, "Value", String.valueOf(t.getValue()));
        b.append("</Tag>");
      });
    }
    return b.append("</TagSet></Tagging>").toString();
  }
}
