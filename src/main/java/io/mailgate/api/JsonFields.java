package io.mailgate.api;

import io.mailgate.SesException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Typed access to fields of an SES JSON request. A field of the wrong type is a BadRequest that
 * names the field by its path (e.g. {@code Content.Simple.Subject.Data}), never a ClassCastException.
 */
public final class JsonFields {
  private JsonFields() {}

  public static String string(JsonObject o, String field, String path) {
    Object v = o.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw SesException.badRequest("Invalid type for field " + path(path, field) + ": expected a string.");
    }
    return s;
  }

  public static String requiredString(JsonObject o, String field, String path) {
    String s = string(o, field, path);
    if (s == null) {
      throw SesException.badRequest("Missing required field " + path(path, field) + ".");
    }
    return s;
  }

  /** A boolean field; absent gives {@code absent}. "false" as a string is a 400, not true. */
  public static boolean bool(JsonObject o, String field, String path, boolean absent) {
    Object v = o.getValue(field);
    if (v == null) {
      return absent;
    }
    if (!(v instanceof Boolean b)) {
      throw SesException.badRequest("Invalid type for field " + path(path, field) + ": expected a boolean.");
    }
    return b;
  }

  /**
   * SES resource tags: a list of {@code {"Key": ..., "Value": ...}}, both required, keys of 1 to 128 and values up to
   * 256 characters (a value may be empty), both of Unicode letters, digits, white space and {@code _ . : / = + - @}
   * only, neither starting with {@code aws:} (in any case: AWS's own). Not message tags (EmailTags), whose rules
   * differ.
   */
  public static JsonArray tags(JsonObject o, String field) {
    List<JsonObject> given = objects(o, field, "");
    if (given.size() > io.mailgate.store.ResourceTags.MAX_TAGS) {
      throw SesException.badRequest("A resource has at most " + io.mailgate.store.ResourceTags.MAX_TAGS
          + " tags, not " + given.size() + ".");
    }
    JsonArray out = new JsonArray();
    java.util.Set<String> keys = new java.util.HashSet<>();
    for (JsonObject t : given) {
      String key = tagKey(requiredString(t, "Key", field));
      String value = requiredString(t, "Value", field); // required in SES's Tag, and may be empty
      checkTagText(value, "value", 0, 256);
      if (!keys.add(key)) {
        throw SesException.badRequest("Duplicate tag key '" + key + "'.");
      }
      out.add(new JsonObject().put("Key", key).put("Value", value));
    }
    return out;
  }

  /** What AWS allows in a resource tag's key and value. */
  private static final java.util.regex.Pattern TAG_TEXT =
      java.util.regex.Pattern.compile("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*");

  /**
   * A resource tag key as AWS takes it, in TagResource and at creation as in UntagResource's TagKeys (so AWS's own
   * {@code aws:} tags cannot be removed either).
   */
  public static String tagKey(String key) {
    checkTagText(key, "key", 1, 128);
    return key;
  }

  /** Lengths in characters as AWS counts them: code points, so a letter outside the BMP is one, not two. */
  private static void checkTagText(String s, String what, int min, int max) {
    int n = s.codePointCount(0, s.length());
    if (n < min || n > max) {
      throw SesException.badRequest("A tag " + what + " has " + min + " to " + max + " characters, not " + n + ".");
    }
    if (s.regionMatches(true, 0, "aws:", 0, 4)) {
      throw SesException.badRequest("A tag " + what + " may not start with aws: (reserved for AWS's own tags).");
    }
    if (!TAG_TEXT.matcher(s).matches()) {
      throw SesException.badRequest("A tag " + what + " has only letters, digits, white space and _ . : / = + - @.");
    }
  }

  public static JsonObject object(JsonObject o, String field, String path) {
    Object v = o.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonObject j)) {
      throw SesException.badRequest("Invalid type for field " + path(path, field) + ": expected an object.");
    }
    return j;
  }

  /** As {@link #object}, where the field must be there. */
  public static JsonObject requiredObject(JsonObject o, String field, String path) {
    JsonObject j = object(o, field, path);
    if (j == null) {
      throw SesException.badRequest("Missing required field " + path(path, field) + ".");
    }
    return j;
  }

  public static JsonArray array(JsonObject o, String field, String path) {
    Object v = o.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray a)) {
      throw SesException.badRequest("Invalid type for field " + path(path, field) + ": expected a list.");
    }
    return a;
  }

  public static List<String> strings(JsonObject o, String field, String path) {
    JsonArray a = array(o, field, path);
    if (a == null) {
      return null;
    }
    List<String> out = new ArrayList<>(a.size());
    for (int i = 0; i < a.size(); i++) {
      if (!(a.getValue(i) instanceof String s)) {
        throw SesException.badRequest("Invalid type for field " + path(path, field) + "[" + i + "]: expected a string.");
      }
      out.add(s);
    }
    return out;
  }

  public static List<JsonObject> objects(JsonObject o, String field, String path) {
    JsonArray a = array(o, field, path);
    if (a == null) {
      return List.of();
    }
    List<JsonObject> out = new ArrayList<>(a.size());
    for (int i = 0; i < a.size(); i++) {
      if (!(a.getValue(i) instanceof JsonObject j)) {
        throw SesException.badRequest("Invalid type for field " + path(path, field) + "[" + i + "]: expected an object.");
      }
      out.add(j);
    }
    return out;
  }

  /**
   * A blob field: base64 in JSON, its lines possibly broken (CR, LF, spaces and tabs are skipped); anything else outside
   * the base64 alphabet (URL-safe base64's - and _, stray characters) is refused, not skipped: skipped, it would send
   * other bytes than the caller's.
   */
  public static byte[] blob(JsonObject o, String field, String path) {
    String s = string(o, field, path);
    if (s == null) {
      return null;
    }
    try {
      return Base64.getDecoder().decode(withoutWhitespace(s));
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest("Invalid base64 in field " + path(path, field) + ".");
    }
  }

  /** Base64 as some clients wrap it (lines of 76), without the line breaks; the same string when it has none. */
  public static String withoutWhitespace(String s) {
    int i = 0;
    while (i < s.length() && !isSpace(s.charAt(i))) {
      i++;
    }
    if (i == s.length()) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    b.append(s, 0, i);
    for (; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!isSpace(c)) {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static boolean isSpace(char c) {
    return c == '\r' || c == '\n' || c == '\t' || c == ' ';
  }

  static String path(String path, String field) {
    return path == null || path.isEmpty() ? field : path + "." + field;
  }
}
