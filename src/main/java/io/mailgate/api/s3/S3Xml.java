package io.mailgate.api.s3;

import io.mailgate.api.sesv1.QueryXml;
import io.mailgate.identity.Account;
import io.mailgate.store.MultipartStore;
import io.mailgate.store.MultipartStore.Part;
import io.mailgate.store.ReceivedObjectStore;
import io.mailgate.store.ReceivedObjectStore.ListedKey;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The S3 API's XML documents, as S3 writes them: the error document, ListObjectsV2's {@code ListBucketResult} and the
 * answers of multipart uploads.
 */
final class S3Xml {
  static final String NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
  private static final String DECLARATION = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  private static final DateTimeFormatter ISO_MILLIS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private S3Xml() {}

  /** {@code <Error><Code/><Message/>...details...<RequestId/></Error>}. */
  static String error(S3Exception e, String requestId) {
    StringBuilder b = new StringBuilder(256).append(DECLARATION).append("<Error>");
    text(b, "Code", e.error().code);
    text(b, "Message", e.getMessage());
    for (Map.Entry<String, String> d : e.details()) {
      text(b, d.getKey(), d.getValue());
    }
    text(b, "RequestId", requestId);
    return b.append("</Error>").toString();
  }

  private static final javax.xml.stream.XMLInputFactory XML = javax.xml.stream.XMLInputFactory.newFactory();

  static {
    XML.setProperty(javax.xml.stream.XMLInputFactory.SUPPORT_DTD, false);
    XML.setProperty(javax.xml.stream.XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    XML.setProperty(javax.xml.stream.XMLInputFactory.IS_COALESCING, true);
  }

  /** A reader of a request's XML document: no DTD, no entities from outside it. */
  private static javax.xml.stream.XMLStreamReader reader(byte[] document)
      throws javax.xml.stream.XMLStreamException {
    return XML.createXMLStreamReader(new java.io.ByteArrayInputStream(document));
  }

  /** Whether the document is well-formed XML (and no DTD) whose root element is {@code root}. */
  static boolean rootIs(byte[] document, String root) {
    try {
      read(document, root, r -> null);
      return true;
    } catch (S3Exception e) {
      return false;
    }
  }

  /** What a request's document says, read from its root element on. */
  interface Body<T> {
    /** Reads the document, {@code r} on its root's start tag. */
    T read(javax.xml.stream.XMLStreamReader r) throws javax.xml.stream.XMLStreamException;
  }

  /**
   * A request's document read by {@code body} once its root element is {@code root}, what follows checked to be
   * well-formed too; anything else, a DTD and entities included, is MalformedXML. An S3Exception {@code body} throws
   * (a value out of bounds) is the answer.
   */
  static <T> T read(byte[] document, String root, Body<T> body) {
    try {
      javax.xml.stream.XMLStreamReader r = reader(document);
      try {
        if (r.nextTag() != javax.xml.stream.XMLStreamConstants.START_ELEMENT || !r.getLocalName().equals(root)) {
          throw new S3Exception(S3Error.MALFORMED_XML);
        }
        T read = body.read(r);
        while (r.hasNext()) {
          r.next(); // the rest must be well-formed too (comments, white space)
        }
        return read;
      } finally {
        r.close();
      }
    } catch (javax.xml.stream.XMLStreamException | RuntimeException e) {
      if (e instanceof S3Exception s3) {
        throw s3;
      }
      throw new S3Exception(S3Error.MALFORMED_XML);
    }
  }

  /**
   * What ListObjectsV2 or ListObjects asked for, as its answer repeats it.
   *
   * @param urlEncoded {@code encoding-type=url}: keys, prefixes, the delimiter, start-after and markers are written
   *     URL-encoded (the way to carry keys with characters XML 1.0 cannot)
   * @param owner the account, when {@code fetch-owner=true} (always for ListObjects); else null
   * @param marker ListObjects' (v1) marker, {@code ""} for none; null for ListObjectsV2
   */
  record ListRequest(String bucket, String prefix, String delimiter, int maxKeys, String continuationToken,
      String startAfter, boolean urlEncoded, Account owner, String marker) {
    boolean v1() {
      return marker != null;
    }
  }

  /** {@code <ListBucketResult>}: the page's objects, then its common prefixes. */
  static String listBucketResult(ListRequest r, KeyListing listing) {
    StringBuilder b = new StringBuilder(512 + listing.page().size() * 200).append(DECLARATION)
        .append("<ListBucketResult xmlns=\"").append(NAMESPACE).append("\">");
    text(b, "Name", r.bucket());
    text(b, "Prefix", name(r.prefix(), r.urlEncoded()));
    boolean delimited = r.delimiter() != null && !r.delimiter().isEmpty();
    if (delimited) {
      text(b, "Delimiter", name(r.delimiter(), r.urlEncoded()));
    }
    if (r.v1()) {
      text(b, "Marker", name(r.marker(), r.urlEncoded()));
      // as S3: without a delimiter, a client goes on from the page's last key
      String next = delimited ? listing.nextMarker() : null;
      if (next != null) {
        text(b, "NextMarker", name(next, r.urlEncoded()));
      }
    } else {
      if (r.continuationToken() != null) {
        text(b, "ContinuationToken", r.continuationToken());
      }
      if (r.startAfter() != null) {
        text(b, "StartAfter", name(r.startAfter(), r.urlEncoded()));
      }
      text(b, "KeyCount", Integer.toString(listing.page().size()));
    }
    text(b, "MaxKeys", Integer.toString(r.maxKeys()));
    if (r.urlEncoded()) {
      text(b, "EncodingType", "url");
    }
    text(b, "IsTruncated", Boolean.toString(listing.truncated()));
    String next = r.v1() ? null : listing.nextToken();
    if (next != null) {
      text(b, "NextContinuationToken", next);
    }
    for (KeyListing.Entry e : listing.page()) {
      if (!e.prefix()) {
        ListedKey k = e.object();
        b.append("<Contents>");
        text(b, "Key", name(k.key(), r.urlEncoded()));
        text(b, "LastModified", ISO_MILLIS.format(k.lastModified()));
        if (k.etag() != null) {
          text(b, "ETag", "\"" + k.etag() + "\"");
        }
        text(b, "Size", Long.toString(k.size()));
        if (k.checksumAlgorithm() != null) {
          text(b, "ChecksumAlgorithm", k.checksumAlgorithm().toUpperCase(Locale.ROOT));
          text(b, "ChecksumType", k.compositeChecksum() ? "COMPOSITE" : "FULL_OBJECT");
        }
        if (r.owner() != null) {
          b.append("<Owner>");
          text(b, "ID", r.owner().id());
          text(b, "DisplayName", r.owner().name());
          b.append("</Owner>");
        }
        text(b, "StorageClass", "STANDARD");
        b.append("</Contents>");
      }
    }
    for (KeyListing.Entry e : listing.page()) {
      if (e.prefix()) {
        b.append("<CommonPrefixes>");
        text(b, "Prefix", name(e.key(), r.urlEncoded()));
        b.append("</CommonPrefixes>");
      }
    }
    return b.append("</ListBucketResult>").toString();
  }

  /**
   * CopyObject's answer: the new object's time and ETag (its content's MD5: a copy is one part), and the checksum it
   * keeps (null for none), of the full object.
   */
  static String copyObjectResult(java.time.Instant lastModified, String etag, Map.Entry<String, String> checksum) {
    return copyResult("CopyObjectResult", lastModified, etag, checksum, "FULL_OBJECT");
  }

  /**
   * UploadPartCopy's answer: when the part was written, its ETag (its content's MD5) and its checksum (by its upload's
   * algorithm; null for none), which S3 gives without a type.
   */
  static String copyPartResult(java.time.Instant lastModified, String etag, Map.Entry<String, String> checksum) {
    return copyResult("CopyPartResult", lastModified, etag, checksum, null);
  }

  private static String copyResult(String root, java.time.Instant lastModified, String etag,
      Map.Entry<String, String> checksum, String checksumType) {
    StringBuilder b = open(root);
    text(b, "LastModified", ISO_MILLIS.format(lastModified));
    text(b, "ETag", "\"" + etag + "\"");
    if (checksum != null) {
      text(b, checksumElement(checksum.getKey()), checksum.getValue());
      if (checksumType != null) {
        text(b, "ChecksumType", checksumType);
      }
    }
    return b.append("</").append(root).append('>').toString();
  }

  /** CreateMultipartUpload's answer. */
  static String initiateMultipartUploadResult(String bucket, String key, String uploadId) {
    StringBuilder b = open("InitiateMultipartUploadResult");
    text(b, "Bucket", bucket);
    text(b, "Key", key);
    text(b, "UploadId", uploadId);
    return b.append("</InitiateMultipartUploadResult>").toString();
  }

  /**
   * CompleteMultipartUpload's answer.
   *
   * @param checksum the object's checksum, by the upload's algorithm and of its type; null when it has none
   */
  static String completeMultipartUploadResult(String location, String bucket, String key, String etag,
      MultipartStore.Upload upload, String checksum) {
    StringBuilder b = open("CompleteMultipartUploadResult");
    if (location != null) {
      text(b, "Location", location);
    }
    text(b, "Bucket", bucket);
    text(b, "Key", key);
    text(b, "ETag", "\"" + etag + "\"");
    if (checksum != null) {
      text(b, checksumElement(upload.checksumAlgorithm()), checksum);
      text(b, "ChecksumType", upload.checksumType());
    }
    return b.append("</CompleteMultipartUploadResult>").toString();
  }

  /** What a ListParts page shows besides its parts. */
  record PartsPage(String bucket, String key, String uploadId, int marker, int maxParts, boolean truncated,
      MultipartStore.Upload upload, Account owner) {}

  /** ListParts' answer. */
  static String listPartsResult(PartsPage r, List<Part> parts) {
    StringBuilder b = open("ListPartsResult");
    text(b, "Bucket", r.bucket());
    text(b, "Key", r.key());
    text(b, "UploadId", r.uploadId());
    text(b, "PartNumberMarker", Integer.toString(r.marker()));
    if (!parts.isEmpty()) {
      text(b, "NextPartNumberMarker", Integer.toString(parts.get(parts.size() - 1).number()));
    }
    text(b, "MaxParts", Integer.toString(r.maxParts()));
    text(b, "IsTruncated", Boolean.toString(r.truncated()));
    for (Part p : parts) {
      b.append("<Part>");
      text(b, "PartNumber", Integer.toString(p.number()));
      text(b, "LastModified", ISO_MILLIS.format(p.lastModified()));
      text(b, "ETag", "\"" + p.md5() + "\"");
      text(b, "Size", Long.toString(p.size()));
      if (r.upload().checksumAlgorithm() != null && p.checksum() != null) {
        text(b, checksumElement(r.upload().checksumAlgorithm()), p.checksum());
      }
      b.append("</Part>");
    }
    owners(b, r.owner());
    text(b, "StorageClass", "STANDARD");
    if (r.upload().checksumAlgorithm() != null) {
      text(b, "ChecksumAlgorithm", r.upload().checksumAlgorithm().toUpperCase(Locale.ROOT));
      text(b, "ChecksumType", r.upload().checksumType());
    }
    return b.append("</ListPartsResult>").toString();
  }

  /**
   * GetObjectAttributes' answer, of the attributes {@code asked}: the ETag (unquoted, as S3 gives it here), the
   * checksum with its type, for an object completed from parts its count of parts and, when they have checksums (as S3
   * lists them only then), the parts read (after {@code marker}, {@code max} at most), the storage class and the size.
   */
  static String objectAttributes(java.util.Set<String> asked, ReceivedObjectStore.WithParts found, int marker,
      int max) {
    ReceivedObjectStore.StoredObject o = found.object();
    StringBuilder b = open("GetObjectAttributesResponse");
    if (asked.contains("ETag")) {
      text(b, "ETag", o.etag());
    }
    if (asked.contains("Checksum") && o.checksum() != null) {
      b.append("<Checksum>");
      text(b, checksumElement(o.checksum().getKey()), o.checksum().getValue());
      text(b, "ChecksumType", o.checksum().getValue().indexOf('-') >= 0 ? Multipart.COMPOSITE : Multipart.FULL_OBJECT);
      b.append("</Checksum>");
    }
    if (asked.contains("ObjectParts") && o.parts() > 0) {
      b.append("<ObjectParts>");
      text(b, "PartsCount", Integer.toString(o.parts()));
      if (o.checksum() != null) {
        List<ReceivedObjectStore.ObjectPart> parts = found.parts();
        text(b, "PartNumberMarker", Integer.toString(marker));
        if (!parts.isEmpty()) {
          text(b, "NextPartNumberMarker", Integer.toString(parts.get(parts.size() - 1).number()));
        }
        text(b, "MaxParts", Integer.toString(max));
        text(b, "IsTruncated", Boolean.toString(marker + parts.size() < o.parts()));
        for (ReceivedObjectStore.ObjectPart p : parts) {
          b.append("<Part>");
          text(b, "PartNumber", Integer.toString(p.number()));
          text(b, "Size", Long.toString(p.size()));
          if (p.checksum() != null) {
            text(b, checksumElement(o.checksum().getKey()), p.checksum());
          }
          b.append("</Part>");
        }
      }
      b.append("</ObjectParts>");
    }
    if (asked.contains("StorageClass")) {
      text(b, "StorageClass", "STANDARD");
    }
    if (asked.contains("ObjectSize")) {
      text(b, "ObjectSize", Long.toString(o.size()));
    }
    return b.append("</GetObjectAttributesResponse>").toString();
  }

  /** What a ListMultipartUploads page shows besides its uploads. */
  record UploadsPage(String bucket, String prefix, String delimiter, String keyMarker, String uploadIdMarker,
      int maxUploads, boolean truncated, boolean urlEncoded, Account owner) {}

  /**
   * ListMultipartUploads' answer: the uploads, then the common prefixes. A page that ends on a prefix names it as the
   * next key marker, without an upload id marker.
   */
  static String listMultipartUploadsResult(UploadsPage r, List<Multipart.Listing> entries) {
    StringBuilder b = open("ListMultipartUploadsResult");
    text(b, "Bucket", r.bucket());
    text(b, "KeyMarker", r.keyMarker() == null ? "" : name(r.keyMarker(), r.urlEncoded()));
    text(b, "UploadIdMarker", r.uploadIdMarker() == null ? "" : r.uploadIdMarker());
    if (r.truncated() && !entries.isEmpty()) {
      Multipart.Listing last = entries.get(entries.size() - 1);
      text(b, "NextKeyMarker", name(last.key(), r.urlEncoded()));
      if (last.upload() != null) {
        text(b, "NextUploadIdMarker", last.upload().uploadId());
      }
    }
    text(b, "Prefix", name(r.prefix(), r.urlEncoded()));
    if (r.delimiter() != null) {
      text(b, "Delimiter", name(r.delimiter(), r.urlEncoded()));
    }
    if (r.urlEncoded()) {
      text(b, "EncodingType", "url");
    }
    text(b, "MaxUploads", Integer.toString(r.maxUploads()));
    text(b, "IsTruncated", Boolean.toString(r.truncated()));
    for (Multipart.Listing entry : entries) {
      MultipartStore.Listed u = entry.upload();
      if (u == null) {
        continue;
      }
      b.append("<Upload>");
      text(b, "Key", name(u.key(), r.urlEncoded()));
      text(b, "UploadId", u.uploadId());
      owners(b, r.owner());
      text(b, "StorageClass", "STANDARD");
      text(b, "Initiated", ISO_MILLIS.format(u.created()));
      if (u.checksumAlgorithm() != null) {
        text(b, "ChecksumAlgorithm", u.checksumAlgorithm().toUpperCase(Locale.ROOT));
        text(b, "ChecksumType", u.checksumType());
      }
      b.append("</Upload>");
    }
    for (Multipart.Listing entry : entries) {
      if (entry.upload() == null) {
        b.append("<CommonPrefixes>");
        text(b, "Prefix", name(entry.commonPrefix(), r.urlEncoded()));
        b.append("</CommonPrefixes>");
      }
    }
    return b.append("</ListMultipartUploadsResult>").toString();
  }

  /**
   * ListBuckets' {@code ListAllMyBucketsResult}: the page's buckets, their owner, the token of the next page when there
   * is one, and the prefix asked for.
   */
  static String listAllMyBucketsResult(List<ReceivedObjectStore.Bucket> buckets, Account owner, String next,
      String prefix) {
    StringBuilder b = open("ListAllMyBucketsResult").append("<Buckets>");
    for (ReceivedObjectStore.Bucket bucket : buckets) {
      b.append("<Bucket>");
      text(b, "Name", bucket.name());
      text(b, "CreationDate", ISO_MILLIS.format(bucket.created()));
      b.append("</Bucket>");
    }
    b.append("</Buckets><Owner>");
    text(b, "ID", owner.id());
    text(b, "DisplayName", owner.name());
    b.append("</Owner>");
    if (next != null) {
      text(b, "ContinuationToken", next);
    }
    if (prefix != null) {
      text(b, "Prefix", prefix);
    }
    return b.append("</ListAllMyBucketsResult>").toString();
  }

  /** An upload's {@code Initiator} and {@code Owner}: the account, both. */
  private static void owners(StringBuilder b, Account owner) {
    for (String role : new String[] {"Initiator", "Owner"}) {
      b.append('<').append(role).append('>');
      text(b, "ID", owner.id());
      text(b, "DisplayName", owner.name());
      b.append("</").append(role).append('>');
    }
  }

  /** {@code ChecksumCRC32} for {@code crc32}, and so on. */
  private static String checksumElement(String algorithm) {
    return "Checksum" + algorithm.toUpperCase(Locale.ROOT);
  }

  static StringBuilder open(String root) {
    return new StringBuilder(512).append(DECLARATION).append('<').append(root).append(" xmlns=\"").append(NAMESPACE)
        .append("\">");
  }

  static void text(StringBuilder b, String element, String value) {
    b.append('<').append(element).append('>');
    QueryXml.escape(b, value);
    b.append("</").append(element).append('>');
  }

  private static String name(String s, boolean urlEncoded) {
    return urlEncoded ? urlEncode(s) : s;
  }

  /** Percent-encodes the UTF-8 bytes of {@code s} but for RFC 3986's unreserved characters and {@code /}. */
  static String urlEncode(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xFF;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~' || c == '/') {
        b.append((char) c);
      } else {
        b.append('%').append(HEX[c >>> 4]).append(HEX[c & 0xF]);
      }
    }
    return b.toString();
  }
}
