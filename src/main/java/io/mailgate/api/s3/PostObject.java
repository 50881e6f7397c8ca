package io.mailgate.api.s3;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.james.mime4j.MimeException;
import org.apache.james.mime4j.parser.AbstractContentHandler;
import org.apache.james.mime4j.parser.MimeStreamParser;
import org.apache.james.mime4j.stream.BodyDescriptor;
import org.apache.james.mime4j.stream.Field;
import org.apache.james.mime4j.stream.MimeConfig;
import org.apache.james.mime4j.stream.NameValuePair;
import org.apache.james.mime4j.stream.RawBody;
import org.apache.james.mime4j.stream.RawFieldParser;

/**
 * S3's browser-based uploads (POST Object: {@code POST /s3/{bucket}} with an HTML form, as the SDKs'
 * {@code createPresignedPost}/{@code generate_presigned_post} prepare them): the form ({@code multipart/form-data},
 * parsed by mime4j) and its POST policy, a base64 JSON document of an {@code expiration} and {@code conditions} that
 * every field but the signature, the policy and the file must meet ({@code {"field": "value"}} and
 * {@code ["eq", "$field", "value"]} exactly, {@code ["starts-with", "$field", "prefix"]}, and
 * {@code ["content-length-range", min, max]} on the file's size). Refusals are S3's: InvalidPolicyDocument for a
 * policy that cannot be read, AccessDenied "Invalid according to Policy" for one expired or not met, naming the
 * condition or the fields no condition covers. Plain Java but for mime4j.
 */
final class PostObject {
  /** What the form's fields (all but the file) may take together: S3 takes 20 KB before the file. */
  static final int MAX_FIELDS_BYTES = 20 * 1024;
  /** A form's most bytes: the largest object and its fields, with the parts' headers and delimiters. */
  static final long MAX_FORM_BYTES = Upload.MAX_OBJECT_BYTES + MAX_FIELDS_BYTES + 16 * 1024;
  /** Fields no condition need cover. */
  private static final Set<String> UNCONDITIONED = Set.of("policy", "x-amz-signature", "file");

  /** The form: its fields by name in lower case, in order, and the file (the field named {@code file}). */
  record Form(Map<String, String> fields, byte[] file, String filename) {
    String field(String name) {
      return fields.get(name);
    }
  }

  private PostObject() {}

  /** Whether a POST to a bucket is a form: its Content-Type multipart/form-data. */
  static boolean isForm(String contentType) {
    return contentType != null && contentType.toLowerCase(Locale.ROOT).strip().startsWith("multipart/form-data");
  }

  /**
   * The form of a {@code multipart/form-data} body: fields up to the file (those after it are not read, as S3 reads
   * them not), names compared in lower case; a field given twice, no file, fields past {@link #MAX_FIELDS_BYTES} or a
   * body that is no form are refused (InvalidArgument, MalformedPOSTRequest).
   */
  static Form parse(byte[] body, String contentType) {
    Map<String, String> fields = new LinkedHashMap<>();
    byte[][] file = {null};
    String[] filename = {null};
    int[] fieldBytes = {0};
    MimeStreamParser parser = new MimeStreamParser(new MimeConfig.Builder().setMaxLineLen(-1).setMaxHeaderLen(8192)
        .setMaxHeaderCount(64).setMaxContentLen(-1).setStrictParsing(false).setHeadlessParsing(contentType).build());
    parser.setContentDecoding(false);
    parser.setContentHandler(new AbstractContentHandler() {
      String name;
      String partFilename;

      @Override
      public void startBodyPart() {
        name = null;
        partFilename = null;
      }

      @Override
      public void field(Field field) throws MimeException {
        if (!field.getName().equalsIgnoreCase("Content-Disposition")) {
          return;
        }
        // the header's bytes as sent (a browser sends a file's name in UTF-8), read parameter by parameter
        RawBody disposition = RawFieldParser.DEFAULT.parseRawBody(RawFieldParser.DEFAULT.parseField(field.getRaw()));
        for (NameValuePair p : disposition.getParams()) {
          String value = p.getValue() == null ? "" : new String(p.getValue().getBytes(StandardCharsets.ISO_8859_1),
              StandardCharsets.UTF_8);
          if (p.getName().equalsIgnoreCase("name")) {
            name = value.toLowerCase(Locale.ROOT);
          } else if (p.getName().equalsIgnoreCase("filename")) {
            partFilename = value;
          }
        }
      }

      @Override
      public void body(BodyDescriptor bd, InputStream in) throws IOException {
        if (file[0] != null) {
          return; // after the file: not read
        }
        if (name == null) {
          throw new S3Exception(S3Error.MALFORMED_POST_REQUEST);
        }
        if (name.equals("file")) {
          file[0] = in.readAllBytes();
          filename[0] = partFilename == null ? "" : partFilename;
          return;
        }
        byte[] value = in.readNBytes(MAX_FIELDS_BYTES - fieldBytes[0] + 1);
        fieldBytes[0] += value.length + name.length();
        if (fieldBytes[0] > MAX_FIELDS_BYTES) {
          throw new S3Exception(S3Error.MAX_POST_PRE_DATA_LENGTH_EXCEEDED);
        }
        if (fields.putIfAbsent(name, new String(value, StandardCharsets.UTF_8)) != null) {
          throw new S3Exception(S3Error.INVALID_ARGUMENT, "The form field '" + name + "' is given twice.")
              .with("ArgumentName", name);
        }
      }
    });
    try {
      parser.parse(new ByteArrayInputStream(body));
    } catch (MimeException | IOException | RuntimeException e) {
      if (e instanceof S3Exception s3) {
        throw s3;
      }
      throw new S3Exception(S3Error.MALFORMED_POST_REQUEST);
    }
    if (file[0] == null) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "POST requires exactly one file upload per request.")
          .with("ArgumentName", "file").with("ArgumentValue", "0");
    }
    return new Form(fields, file[0], filename[0]);
  }

  /** The object's key: the form's {@code key}, {@code ${filename}} in it the file's name; InvalidArgument without. */
  static String key(Form form) {
    String key = form.field("key");
    if (key == null || key.isEmpty()) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Bucket POST must contain a field named 'key'.  If it is "
          + "specified, please check the order of the fields.").with("ArgumentName", "key");
    }
    key = key.replace("${filename}", form.filename());
    if (key.getBytes(StandardCharsets.UTF_8).length > S3Api.MAX_KEY_BYTES) {
      throw new S3Exception(S3Error.KEY_TOO_LONG).with("MaxSizeAllowed", Integer.toString(S3Api.MAX_KEY_BYTES));
    }
    return key;
  }

  /**
   * Checks the form against its policy (its signature checked before): not expired at {@code now}, every condition
   * met by the fields as sent (the bucket by the one posted to; {@code key} before its file's name is put in, so that
   * {@code ["starts-with", "$key", "uploads/"]} or {@code {"key": "uploads/${filename}"}} hold), the file's size, and
   * every field but those that need none named by one. AccessDenied otherwise, as S3 words it.
   */
  static void check(Form form, String bucket, Instant now) {
    String encoded = form.field("policy");
    JsonObject policy;
    try {
      policy = new JsonObject(new String(Base64.getDecoder().decode(encoded.strip()), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException | DecodeException | ClassCastException e) {
      throw invalidPolicy("Invalid Policy: Invalid JSON.");
    }
    Object expiration = policy.getValue("expiration");
    if (!(expiration instanceof String text)) {
      throw invalidPolicy("Invalid Policy: Policy missing expiration.");
    }
    Instant expires;
    try {
      expires = Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw invalidPolicy("Invalid Policy: Invalid 'expiration' value: '" + text + "'");
    }
    if (!(policy.getValue("conditions") instanceof JsonArray conditions)) {
      throw invalidPolicy("Invalid Policy: Policy missing conditions.");
    }
    if (!now.isBefore(expires)) {
      throw notAllowed("Policy expired.");
    }
    Map<String, String> values = new LinkedHashMap<>(form.fields());
    values.put("bucket", bucket);
    List<String> covered = new ArrayList<>();
    for (Object c : conditions) {
      if (c instanceof JsonObject exact) {
        for (Map.Entry<String, Object> e : exact) {
          String name = e.getKey().toLowerCase(Locale.ROOT);
          if (!(e.getValue() instanceof String wanted)) {
            throw invalidPolicy("Invalid Policy: Invalid Simple-Condition: value must be a string.");
          }
          if (!wanted.equals(values.getOrDefault(name, ""))) {
            throw notAllowed("Policy Condition failed: [\"eq\", \"$" + e.getKey() + "\", \"" + wanted + "\"]");
          }
          covered.add(name);
        }
      } else if (c instanceof JsonArray list && !list.isEmpty() && list.getValue(0) instanceof String op) {
        covered.add(condition(op.toLowerCase(Locale.ROOT), list, values, form.file().length));
      } else {
        throw invalidPolicy("Invalid Policy: Invalid Condition: " + c);
      }
    }
    List<String> extra = new ArrayList<>();
    for (String name : form.fields().keySet()) {
      if (!UNCONDITIONED.contains(name) && !name.startsWith("x-ignore-") && !covered.contains(name)) {
        extra.add(name);
      }
    }
    if (!extra.isEmpty()) {
      throw notAllowed("Extra input fields: " + String.join(", ", extra));
    }
  }

  /** One condition of the list form checked: the field it covers (none, {@code ""}, for a length range). */
  private static String condition(String op, JsonArray list, Map<String, String> values, long size) {
    if (op.equals("content-length-range")) {
      if (list.size() != 3 || !(list.getValue(1) instanceof Number min) || !(list.getValue(2) instanceof Number max)) {
        throw invalidPolicy("Invalid Policy: Invalid content-length-range condition: " + list);
      }
      if (size < min.longValue()) {
        throw new S3Exception(S3Error.ENTITY_TOO_SMALL).with("ProposedSize", Long.toString(size))
            .with("MinSizeAllowed", Long.toString(min.longValue()));
      }
      if (size > max.longValue()) {
        throw new S3Exception(S3Error.ENTITY_TOO_LARGE).with("ProposedSize", Long.toString(size))
            .with("MaxSizeAllowed", Long.toString(max.longValue()));
      }
      return "";
    }
    if (list.size() != 3 || !(list.getValue(1) instanceof String field) || !field.startsWith("$")
        || !(list.getValue(2) instanceof String wanted) || !(op.equals("eq") || op.equals("starts-with"))) {
      throw invalidPolicy("Invalid Policy: Invalid Condition: " + list);
    }
    String name = field.substring(1).toLowerCase(Locale.ROOT);
    String value = values.getOrDefault(name, "");
    if (op.equals("eq") ? !value.equals(wanted) : !value.startsWith(wanted)) {
      throw notAllowed("Policy Condition failed: " + list.encode());
    }
    return name;
  }

  private static S3Exception invalidPolicy(String message) {
    return new S3Exception(S3Error.INVALID_POLICY_DOCUMENT, message);
  }

  private static S3Exception notAllowed(String why) {
    return new S3Exception(S3Error.ACCESS_DENIED, "Invalid according to Policy: " + why);
  }

  /** The object's headers the form sets (Content-Type, Cache-Control..., {@code x-amz-meta-*}), as a PUT's would. */
  static io.vertx.core.MultiMap headers(Form form) {
    io.vertx.core.MultiMap headers = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    form.fields().forEach((name, value) -> {
      if (name.startsWith("x-amz-meta-") || ObjectMetadata.STANDARD.stream().anyMatch(name::equalsIgnoreCase)) {
        headers.add(name, value);
      }
    });
    return headers;
  }
}
