package io.mailgate.api.s3;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * DeleteObjects' document ({@code POST /s3/{bucket}?delete}: what {@code aws s3 rm --recursive}, boto3's
 * {@code bucket.objects.delete()} and the SDKs' batch deletes send): up to {@link #MAX_KEYS} objects by key, each with
 * a {@code VersionId} ({@code null} at most: objects are not versioned) and an {@code ETag} it must have to be deleted,
 * or none; {@code Quiet} to be told of failures only. And its answer, {@code DeleteResult}. Plain Java.
 */
final class DeleteObjects {
  /** S3's limit on the objects of one request. */
  static final int MAX_KEYS = 1000;
  /** A document of {@link #MAX_KEYS} keys of 1,024 bytes, escaped, with their elements. */
  static final long MAX_DOCUMENT_BYTES = 8L * 1024 * 1024;

  /**
   * One object asked for.
   *
   * @param etag the ETag it must have to be deleted (unquoted, lower case); null for any
   * @param refusal why it is not deleted, whatever is stored (a key too long, another version); null when it may be
   */
  record Asked(String key, String versionId, String etag, S3Exception refusal) {}

  /** What a request asks: its objects, in its order, and whether it asks to hear of failures only. */
  record Request(List<Asked> objects, boolean quiet) {}

  /** What became of an object asked for: deleted (or not there), or not, with why. */
  record Outcome(Asked asked, S3Exception error) {}

  private DeleteObjects() {}

  /**
   * Reads a {@code <Delete>} document: at least one {@code <Object>} with a {@code <Key>}, at most {@link #MAX_KEYS};
   * anything else, a DTD and entities included, is MalformedXML.
   */
  static Request parse(byte[] document) {
    Request request = S3Xml.read(document, "Delete", r -> {
      List<Asked> objects = new ArrayList<>();
      boolean quiet = false;
      while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
        if (r.getLocalName().equals("Quiet")) {
          quiet = Boolean.parseBoolean(r.getElementText().strip());
        } else if (r.getLocalName().equals("Object") && objects.size() < MAX_KEYS) {
          objects.add(object(r));
        } else {
          throw malformed();
        }
      }
      return new Request(objects, quiet);
    });
    if (request.objects().isEmpty()) {
      throw malformed();
    }
    return request;
  }

  /** One {@code <Object>}, the reader on its start tag; leaves it on its end tag. */
  private static Asked object(XMLStreamReader r) throws XMLStreamException {
    String key = null;
    String version = null;
    String etag = null;
    while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
      String name = r.getLocalName();
      String text = r.getElementText(); // a key's white space is its own
      switch (name) {
        case "Key" -> key = text;
        case "VersionId" -> version = text.strip();
        case "ETag" -> {
          String t = text.strip();
          etag = (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"") ? t.substring(1, t.length() - 1) : t)
              .toLowerCase(Locale.ROOT);
        }
        default -> { } // LastModifiedTime, Size: conditions of directory buckets, not of these
      }
    }
    if (key == null || key.isEmpty()) {
      throw malformed();
    }
    S3Exception refusal = null;
    if (key.getBytes(StandardCharsets.UTF_8).length > S3Api.MAX_KEY_BYTES) {
      refusal = new S3Exception(S3Error.KEY_TOO_LONG);
    } else if (key.indexOf('\u0000') >= 0) {
      refusal = new S3Exception(S3Error.INVALID_ARGUMENT, "A key holds a NUL character.");
    } else if (version != null && !version.equals("null")) {
      refusal = new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid version id specified");
    }
    return new Asked(key, version, etag, refusal);
  }

  private static S3Exception malformed() {
    return new S3Exception(S3Error.MALFORMED_XML);
  }

  /**
   * {@code <DeleteResult>}: each object deleted (or not there: S3 counts it deleted), unless quiet, then each that was
   * not, with its error's code and message.
   */
  static String result(List<Outcome> outcomes, boolean quiet) {
    StringBuilder b = S3Xml.open("DeleteResult");
    for (Outcome o : outcomes) {
      if (o.error() == null && !quiet) {
        b.append("<Deleted>");
        S3Xml.text(b, "Key", o.asked().key());
        if (o.asked().versionId() != null) {
          S3Xml.text(b, "VersionId", o.asked().versionId());
        }
        b.append("</Deleted>");
      }
    }
    for (Outcome o : outcomes) {
      if (o.error() != null) {
        b.append("<Error>");
        S3Xml.text(b, "Key", o.asked().key());
        if (o.asked().versionId() != null) {
          S3Xml.text(b, "VersionId", o.asked().versionId());
        }
        S3Xml.text(b, "Code", o.error().error().code);
        S3Xml.text(b, "Message", o.error().getMessage());
        b.append("</Error>");
      }
    }
    return b.append("</DeleteResult>").toString();
  }
}
