package io.mailgate.api.s3;

import io.mailgate.OffLoop;
import io.mailgate.api.s3.S3Api.Resource;
import io.mailgate.send.Caller;
import io.mailgate.store.MultipartStore;
import io.mailgate.store.MultipartStore.Part;
import io.mailgate.store.ReceivedObjectStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayOutputStream;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * S3's multipart uploads on the S3 endpoint, so that a file is put in parts the way S3 clients put large files (the
 * AWS SDKs' multipart clients and transfer managers, {@code aws s3 cp} above its 8 MB threshold):
 * CreateMultipartUpload ({@code POST ?uploads}), UploadPart ({@code PUT ?partNumber&uploadId}, its body read and
 * checked as PutObject's), UploadPartCopy (the same with {@code x-amz-copy-source}: a part copied from an object of
 * the account's, whole or {@code x-amz-copy-source-range}), CompleteMultipartUpload ({@code POST ?uploadId}),
 * AbortMultipartUpload ({@code DELETE ?uploadId}) and ListParts ({@code GET ?uploadId}).
 *
 * <p>S3's rules: parts are numbered 1 to 10,000, a part put again replaces the one of its number, every part but the
 * last is at least 5 MiB, a completion names its parts in ascending order with their ETags (and checksums), and the
 * object is made of those, in that order; the others are discarded. Here the object, like one put whole, is at most
 * {@link Upload#MAX_OBJECT_BYTES}, so an upload's parts may hold no more than that. Its ETag is S3's: the MD5 of its
 * parts' MD5s, a dash and their count, which a client that kept its parts' MD5s checks; the object keeps its parts'
 * sizes, so that GetObject and HeadObject answer a part as it was put ({@code partNumber}). A completion may be
 * conditional ({@code If-None-Match: *}, {@code If-Match}), checked on the object it would replace in the same
 * transaction as the write; refused, the upload stays as it was. An upload created with
 * {@code x-amz-checksum-algorithm} needs that checksum on each part, and its completion answers the object's checksum
 * of the upload's type: COMPOSITE, the checksum of the parts' checksums, a dash and their count; FULL_OBJECT (CRCs
 * only), the CRC of the whole object, combined from the parts' ({@link Checksums#combine}).
 *
 * <p>Parts count in {@code receiving.maxStoredBytesPerAccount} while they wait. An account has at most
 * {@value #MAX_UPLOADS_PER_ACCOUNT} uploads under way; one neither completed nor aborted goes after seven days (the
 * retention sweep). The object is concatenated in the database: a completion holds no part in the node's memory.
 */
final class Multipart {
  /** The most a CompleteMultipartUpload's document may hold: far more than its 10,000 parts' elements take. */
  static final long MAX_DOCUMENT_BYTES = 1024 * 1024;
  static final int MAX_PART_NUMBER = 10_000;
  /** S3's least size of a part that is not an upload's last. */
  static final long MIN_PART_BYTES = 5L * 1024 * 1024;
  static final int MAX_UPLOADS_PER_ACCOUNT = 1_000;
  /** The most parts one ListParts page holds, and its default. */
  static final int MAX_PARTS = 1000;
  static final String COMPOSITE = "COMPOSITE";
  static final String FULL_OBJECT = "FULL_OBJECT";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A part as a completion names it: its number, ETag (unquoted) and checksums ({@code crc32} and its value...). */
  record Named(int number, String etag, Map<String, String> checksums) {}

  private final MultipartStore store;
  private final ReceivedObjectStore objects;
  private final long maxStoredBytes;

  Multipart(MultipartStore store, ReceivedObjectStore objects, long maxStoredBytes) {
    this.store = store;
    this.objects = objects;
    this.maxStoredBytes = maxStoredBytes;
  }

  /** An UploadPart's number, which needs an upload id beside it: 1 to 10,000. */
  static int partNumber(Map<String, String> params) {
    String value = params.get("partNumber");
    if (value == null || params.get("uploadId") == null) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "A part is put with both partNumber and uploadId.");
    }
    int n = number(value);
    if (n < 1 || n > MAX_PART_NUMBER) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Part number must be an integer between 1 and "
          + MAX_PART_NUMBER + ", inclusive").with("ArgumentName", "partNumber").with("ArgumentValue", value);
    }
    return n;
  }

  /** A decimal number of at most 9 digits, or -1. */
  private static int number(String value) {
    return value.isEmpty() || value.length() > 9 || !value.chars().allMatch(c -> c >= '0' && c <= '9')
        ? -1 : Integer.parseInt(value);
  }

  /** The operations of an authenticated request without a body: create, abort, list parts. */
  Future<Void> serve(RoutingContext ctx, Caller caller, Resource resource, Map<String, String> params,
      String requestId) {
    HttpMethod method = ctx.request().method();
    String uploadId = params.get("uploadId");
    HttpServerResponse response = ctx.response().putHeader("x-amz-request-id", requestId);
    if (method == HttpMethod.POST) {
      return create(ctx, caller, resource, response);
    }
    if (method == HttpMethod.DELETE && uploadId != null) {
      return store.abort(caller.account().id(), uploadId, resource.bucket(), resource.key())
          .compose(aborted -> aborted ? response.setStatusCode(204).end() : noSuchUpload(uploadId));
    }
    if (method == HttpMethod.GET && uploadId != null) {
      return listParts(caller, resource, uploadId, params, response);
    }
    return Future.failedFuture(new S3Exception(S3Error.NOT_IMPLEMENTED, "This use of a multipart upload is not "
        + "implemented here."));
  }

  private Future<Void> create(RoutingContext ctx, Caller caller, Resource resource, HttpServerResponse response) {
    String algorithm = ctx.request().getHeader("x-amz-checksum-algorithm");
    if (algorithm != null) {
      algorithm = algorithm.strip().toLowerCase(Locale.ROOT);
      if (!Checksums.ALGORITHMS.contains(algorithm)) {
        throw new S3Exception(S3Error.INVALID_REQUEST, "Value for x-amz-checksum-algorithm header is invalid.");
      }
    }
    String type = checksumType(algorithm, ctx.request().getHeader("x-amz-checksum-type"));
    Acls.refuseForObject(ctx.request()::getHeader);
    JsonObject metadata = ObjectMetadata.of(ctx.request().headers());
    JsonObject tags = ObjectTags.ofHeader(ctx.request().getHeader("x-amz-tagging"));
    byte[] id = new byte[32];
    RANDOM.nextBytes(id);
    String uploadId = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
    String checksum = algorithm;
    return store.create(caller.account().id(), uploadId, resource.bucket(), resource.key(), algorithm, type, metadata,
        tags, Instant.now(), MAX_UPLOADS_PER_ACCOUNT).compose(created -> {
          if (!created) {
            return Future.failedFuture(new S3Exception(S3Error.INVALID_REQUEST, "The account has "
                + MAX_UPLOADS_PER_ACCOUNT + " multipart uploads under way: complete or abort some first."));
          }
          if (checksum != null) {
            response.putHeader("x-amz-checksum-algorithm", checksum.toUpperCase(Locale.ROOT))
                .putHeader("x-amz-checksum-type", type);
          }
          return response.putHeader("Content-Type", "application/xml")
              .end(S3Xml.initiateMultipartUploadResult(resource.bucket(), resource.key(), uploadId));
        });
  }

  /**
   * An upload's checksum type, as S3 has it: none without an algorithm; a CRC64NVME checksum is always of the full
   * object, SHA ones always composite, CRC32 and CRC32C composite unless FULL_OBJECT is asked for.
   */
  static String checksumType(String algorithm, String asked) {
    String type = asked == null ? null : asked.strip().toUpperCase(Locale.ROOT);
    if (type != null && !type.equals(COMPOSITE) && !type.equals(FULL_OBJECT)) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "Value for x-amz-checksum-type header is invalid.");
    }
    if (algorithm == null) {
      if (type != null) {
        throw new S3Exception(S3Error.INVALID_REQUEST, "x-amz-checksum-type needs an x-amz-checksum-algorithm.");
      }
      return null;
    }
    boolean linear = Checksums.LINEAR.contains(algorithm);
    String resolved = type != null ? type : algorithm.equals("crc64nvme") ? FULL_OBJECT : COMPOSITE;
    if ((resolved.equals(FULL_OBJECT) && !linear) || (resolved.equals(COMPOSITE) && algorithm.equals("crc64nvme"))) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "The " + resolved + " checksum type cannot be used with the "
          + algorithm + " checksum algorithm.");
    }
    return resolved;
  }

  /** UploadPart, its body read and checked: written as part {@code number} of the upload. */
  Future<Void> putPart(RoutingContext ctx, Caller caller, Resource resource, String uploadId, int number,
      Upload.Checked content, String requestId) {
    String account = caller.account().id();
    return upload(account, uploadId, resource).compose(found -> {
      String algorithm = found.checksumAlgorithm();
      String given = content.checksum() == null ? null : content.checksum().getKey();
      if (algorithm != null && !algorithm.equals(given)) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_REQUEST, "Checksum Type mismatch occurred, "
            + "expected checksum Type: " + algorithm + ", actual checksum Type: " + given));
      }
      return write(account, uploadId, resource, number, content, algorithm != null).compose(v -> {
        HttpServerResponse response = ctx.response().putHeader("x-amz-request-id", requestId)
            .putHeader("ETag", "\"" + content.md5() + "\"");
        if (content.checksum() != null) {
          response.putHeader(Checksums.HEADER + content.checksum().getKey(), content.checksum().getValue());
        }
        return response.end();
      });
    });
  }

  /**
   * Writes the part (with its checksum when {@code keepChecksum}: the upload's algorithm's), within what an object may
   * hold and what the account may keep: S3's errors when it would go past either, or when the upload is gone meanwhile.
   */
  private Future<Void> write(String account, String uploadId, Resource resource, int number, Upload.Checked content,
      boolean keepChecksum) {
    Buffer data = content.buffer();
    return store.putPart(account, uploadId, resource.bucket(), resource.key(), number, data,
        keepChecksum && content.checksum() != null ? content.checksum().getValue() : null, Upload.MAX_OBJECT_BYTES,
        maxStoredBytes,
        Instant.now()).compose(write -> switch (write.outcome()) {
          case NO_SUCH_UPLOAD -> noSuchUpload(uploadId);
          case UPLOAD_TOO_LARGE -> Future.failedFuture(new S3Exception(S3Error.ENTITY_TOO_LARGE, "The upload's "
              + "parts would hold " + (write.bytes() + data.length()) + " bytes, and an object here is at most "
              + Upload.MAX_OBJECT_BYTES + ".").with("ProposedSize", Long.toString(write.bytes() + data.length()))
              .with("MaxSizeAllowed", Long.toString(Upload.MAX_OBJECT_BYTES)));
          case ACCOUNT_FULL -> Future.failedFuture(new S3Exception(S3Error.ENTITY_TOO_LARGE, "The part ("
              + data.length() + " bytes) would take the account past what it may keep (" + maxStoredBytes
              + " bytes, " + write.bytes() + " in use): delete objects or abort uploads first.")
              .with("ProposedSize", Long.toString(data.length())));
          case STORED -> Future.succeededFuture();
        });
  }

  /**
   * The bytes an UploadPartCopy copies, read from its source, and what gives back the memory they hold (run once,
   * when the part is written or refused).
   */
  record Source(byte[] bytes, Runnable done) {}

  /**
   * UploadPartCopy, its request authenticated: once the upload is found, {@code source} reads the bytes to copy, which
   * are put as part {@code number} as UploadPart puts one (its MD5, and the upload's checksum computed from them, off
   * the event loop for a large part). S3's CopyPartResult: the part's ETag, its checksum, when it was written.
   */
  Future<Void> copyPart(RoutingContext ctx, Caller caller, Resource resource, String uploadId, int number,
      Supplier<Future<Source>> source, String requestId) {
    String account = caller.account().id();
    return upload(account, uploadId, resource).compose(found -> source.get().compose(read -> OffLoop
        .when(read.bytes().length, () -> Upload.Checked.of(read.bytes(), found.checksumAlgorithm()))
        .compose(content -> write(account, uploadId, resource, number, content, true)
            .compose(v -> ctx.response().putHeader("x-amz-request-id", requestId)
                .putHeader("Content-Type", "application/xml")
                .end(S3Xml.copyPartResult(Instant.now(), content.md5(), content.checksum()))))
        .onComplete(done -> read.done().run())));
  }

  /**
   * CompleteMultipartUpload, its document read and authenticated. A completion retried within an hour (its answer
   * lost on the way) is answered as the first one was, whatever its document.
   */
  Future<Void> complete(RoutingContext ctx, Caller caller, Resource resource, String uploadId, byte[] document,
      Preconditions.Write conditions, String requestId) {
    String sizeHeader = ctx.request().getHeader("x-amz-mp-object-size");
    long claimedSize = sizeHeader == null ? -1 : Upload.length(sizeHeader);
    if (sizeHeader != null && claimedSize < 0) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "x-amz-mp-object-size is not a size: '" + sizeHeader + "'.");
    }
    return OffLoop.when(document.length, () -> named(document)).compose(named -> store.complete(
        caller.account().id(), uploadId, resource.bucket(), resource.key(), (upload, parts) -> {
          List<Integer> numbers = chosen(named, upload, parts, claimedSize, uploadId);
          return new MultipartStore.Choice(numbers, objectChecksum(upload, parts, numbers, ctx.request()::getHeader));
        }, "s3-put-" + requestId, Instant.now(), Preconditions.Write.check(conditions, resource.key())))
        .compose(done -> {
          if (done.isEmpty()) {
            return noSuchUpload(uploadId);
          }
          MultipartStore.Completed c = done.get();
          String location = ctx.request().absoluteURI();
          int query = location == null ? -1 : location.indexOf('?');
          return ctx.response().putHeader("x-amz-request-id", requestId)
              .putHeader("Content-Type", "application/xml")
              .end(S3Xml.completeMultipartUploadResult(query < 0 ? location : location.substring(0, query),
                  resource.bucket(), resource.key(), c.etag(), c.upload(), c.checksum()));
        });
  }

  /**
   * The completed object's checksum, from its parts' ({@link #composite} or {@link Checksums#combine}), null for an
   * upload without a checksum algorithm; checked against what the completion's headers give
   * ({@code x-amz-checksum-<algorithm>}: BadDigest; {@code x-amz-checksum-type}: InvalidRequest), before anything is
   * written.
   */
  static String objectChecksum(MultipartStore.Upload upload, List<Part> parts, List<Integer> numbers,
      java.util.function.Function<String, String> header) {
    String algorithm = upload.checksumAlgorithm();
    String type = header.apply("x-amz-checksum-type");
    if (type != null && !type.strip().equalsIgnoreCase(String.valueOf(upload.checksumType()))) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "The upload was created with checksum type "
          + upload.checksumType() + ", not " + type.strip() + ".");
    }
    for (String a : Checksums.ALGORITHMS) {
      if (!a.equals(algorithm) && header.apply(Checksums.HEADER + a) != null) {
        throw new S3Exception(S3Error.INVALID_REQUEST, "Checksum Type mismatch occurred, expected checksum Type: "
            + algorithm + ", actual checksum Type: " + a);
      }
    }
    if (algorithm == null) {
      return null;
    }
    List<Part> used = parts.stream().filter(p -> numbers.contains(p.number())).toList();
    String checksum;
    if (FULL_OBJECT.equals(upload.checksumType())) {
      checksum = used.get(0).checksum();
      for (Part p : used.subList(1, used.size())) {
        checksum = Checksums.combine(algorithm, checksum, p.checksum(), p.size());
      }
    } else {
      checksum = composite(algorithm, used);
    }
    String given = header.apply(Checksums.HEADER + algorithm);
    if (given != null && !given.strip().equals(checksum)) {
      throw new S3Exception(S3Error.BAD_DIGEST, "The " + algorithm.toUpperCase(Locale.ROOT) + " you specified for "
          + "the object did not match the one of its parts: " + checksum + ".");
    }
    return checksum;
  }

  /**
   * The numbers of the parts a completion names, checked against the parts put: each there with its ETag (and
   * checksum in the upload's algorithm, when given), every one but the last at least {@link #MIN_PART_BYTES}, all of
   * them the size the client claims.
   */
  static List<Integer> chosen(List<Named> named, MultipartStore.Upload upload, List<Part> parts, long claimedSize,
      String uploadId) {
    Map<Integer, Part> byNumber = new HashMap<>();
    parts.forEach(p -> byNumber.put(p.number(), p));
    List<Integer> numbers = new ArrayList<>(named.size());
    long size = 0;
    for (int i = 0; i < named.size(); i++) {
      Named n = named.get(i);
      Part p = byNumber.get(n.number());
      String checksum = upload.checksumAlgorithm() == null ? null : n.checksums().get(upload.checksumAlgorithm());
      if (p == null || !p.md5().equals(n.etag()) || (checksum != null && !checksum.equals(p.checksum()))) {
        throw new S3Exception(S3Error.INVALID_PART).with("UploadId", uploadId)
            .with("PartNumber", Integer.toString(n.number())).with("ETag", n.etag());
      }
      if (i < named.size() - 1 && p.size() < MIN_PART_BYTES) {
        throw new S3Exception(S3Error.ENTITY_TOO_SMALL).with("ProposedSize", Long.toString(p.size()))
            .with("MinSizeAllowed", Long.toString(MIN_PART_BYTES)).with("PartNumber", Integer.toString(n.number()));
      }
      numbers.add(n.number());
      size += p.size();
    }
    if (claimedSize >= 0 && claimedSize != size) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "The provided 'x-amz-mp-object-size' header value "
          + claimedSize + " does not match what was computed: " + size + ".");
    }
    return numbers;
  }

  /** S3's composite checksum of a multipart object: the checksum of its parts' checksums, a dash, their count. */
  static String composite(String algorithm, List<Part> parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (Part p : parts) {
      all.writeBytes(Base64.getDecoder().decode(p.checksum()));
    }
    return Checksums.of(algorithm, all.toByteArray()) + "-" + parts.size();
  }

  private Future<Void> listParts(Caller caller, Resource resource, String uploadId, Map<String, String> params,
      HttpServerResponse response) {
    int max = params.get("max-parts") == null ? MAX_PARTS : number(params.get("max-parts"));
    if (max < 0) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Provided max-parts not an integer or within integer range")
          .with("ArgumentName", "max-parts").with("ArgumentValue", params.get("max-parts"));
    }
    int marker = params.get("part-number-marker") == null ? 0 : number(params.get("part-number-marker"));
    if (marker < 0) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Provided part-number-marker not an integer or within integer "
          + "range").with("ArgumentName", "part-number-marker").with("ArgumentValue", params.get("part-number-marker"));
    }
    int limit = Math.min(max, MAX_PARTS);
    String account = caller.account().id();
    return upload(account, uploadId, resource).compose(found -> store.parts(account, uploadId,
        Math.min(marker, MAX_PART_NUMBER) + 1, limit + 1).compose(parts -> {
          boolean truncated = parts.size() > limit;
          List<Part> page = truncated ? parts.subList(0, limit) : parts;
          return response.putHeader("Content-Type", "application/xml").end(S3Xml.listPartsResult(
              new S3Xml.PartsPage(resource.bucket(), resource.key(), uploadId, marker, limit, truncated, found,
                  caller.account()), page));
        }));
  }

  /**
   * ListMultipartUploads ({@code GET /s3/{bucket}?uploads}): the bucket's uploads under way in S3's order (by key,
   * then by when each was begun), from {@code key-marker} and {@code upload-id-marker}, among the keys that start with
   * {@code prefix}, {@code max-uploads} (at most 1,000) a page; {@code encoding-type=url}. With a {@code delimiter},
   * the uploads of keys that hold it past the prefix are rolled into one {@code CommonPrefixes} each
   * ({@link #grouped}), and a key marker that is such a prefix lists on past it.
   */
  Future<Void> listUploads(Caller caller, String bucket, Map<String, String> params, HttpServerResponse response) {
    String prefix = params.get("prefix") == null ? "" : params.get("prefix");
    String keyMarker = params.get("key-marker");
    String uploadIdMarker = keyMarker == null ? null : params.get("upload-id-marker");
    String delimiter = params.get("delimiter") == null || params.get("delimiter").isEmpty() ? null
        : params.get("delimiter");
    for (String value : new String[] {prefix, keyMarker, uploadIdMarker, delimiter}) {
      if (value != null && value.indexOf('\u0000') >= 0) {
        throw new S3Exception(S3Error.INVALID_ARGUMENT, "A parameter holds a NUL character.");
      }
    }
    String encoding = params.get("encoding-type");
    if (encoding != null && !encoding.equals("url")) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid Encoding Method specified in Request")
          .with("ArgumentName", "encoding-type").with("ArgumentValue", encoding);
    }
    int max = params.get("max-uploads") == null ? MAX_PARTS : number(params.get("max-uploads"));
    if (max < 0) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Provided max-uploads not an integer or within integer range")
          .with("ArgumentName", "max-uploads").with("ArgumentValue", params.get("max-uploads"));
    }
    int limit = Math.min(max, MAX_PARTS);
    String account = caller.account().id();
    // grouped, every upload of the bucket past the marker is read: an account has at most 1,000 under way (a few more
    // when creations race; then the page ends at the last one read, as S3 may end one early)
    int wanted = delimiter == null ? limit + 1 : MAX_UPLOADS_PER_ACCOUNT + 1;
    Future<List<MultipartStore.Listed>> read = limit == 0 ? Future.succeededFuture(List.of())
        : store.list(account, bucket, keyMarker == null ? "" : keyMarker, uploadIdMarker, prefix,
            prefix.isEmpty() ? null : KeyListing.after(prefix), wanted);
    return read.compose(found -> (found.isEmpty() ? objects.bucketExists(account, bucket)
        : Future.succeededFuture(true)).compose(exists -> {
          if (!exists) {
            return Future.failedFuture(new S3Exception(S3Error.NO_SUCH_BUCKET).with("BucketName", bucket));
          }
          List<Listing> entries = grouped(found, prefix, delimiter, keyMarker);
          // ended early (more were read than an account may have): a page with an entry names where the next begins
          boolean truncated = entries.size() > limit || (found.size() == wanted && !entries.isEmpty());
          List<Listing> page = entries.size() > limit ? entries.subList(0, limit) : entries;
          return response.putHeader("Content-Type", "application/xml").end(S3Xml.listMultipartUploadsResult(
              new S3Xml.UploadsPage(bucket, prefix, delimiter, keyMarker, uploadIdMarker, limit, truncated,
                  encoding != null, caller.account()), page));
        }));
  }

  /** An upload listed, or (upload null) the common prefix that stands for the uploads of every key that has it. */
  record Listing(MultipartStore.Listed upload, String commonPrefix) {
    String key() {
      return upload == null ? commonPrefix : upload.key();
    }
  }

  /**
   * The uploads read, in their order, with those of keys that hold the delimiter past the prefix rolled into their
   * common prefix (the key up to the delimiter's first occurrence there, the delimiter included), each prefix once,
   * where its first upload was. A prefix at or before the key marker was listed on an earlier page (a page that ended
   * on a prefix names it as the next key marker) and is not listed again. Without a delimiter, each upload.
   */
  static List<Listing> grouped(List<MultipartStore.Listed> uploads, String prefix, String delimiter,
      String keyMarker) {
    List<Listing> out = new ArrayList<>(uploads.size());
    String last = null;
    for (MultipartStore.Listed u : uploads) {
      int at = delimiter == null ? -1 : u.key().indexOf(delimiter, prefix.length());
      if (at < 0) {
        out.add(new Listing(u, null));
        continue;
      }
      String common = u.key().substring(0, at + delimiter.length());
      if (!common.equals(last) && (keyMarker == null || common.compareTo(keyMarker) > 0)) {
        out.add(new Listing(null, common));
      }
      last = common;
    }
    return out;
  }

  /** The account's upload of the resource's bucket and key; NoSuchUpload for any other. */
  private Future<MultipartStore.Upload> upload(String account, String uploadId, Resource resource) {
    return store.find(account, uploadId).compose(found -> found.isPresent()
        && found.get().bucket().equals(resource.bucket()) && found.get().key().equals(resource.key())
        ? Future.succeededFuture(found.get()) : noSuchUpload(uploadId));
  }

  private static <T> Future<T> noSuchUpload(String uploadId) {
    return Future.failedFuture(new S3Exception(S3Error.NO_SUCH_UPLOAD).with("UploadId", uploadId));
  }

  /**
   * The parts a CompleteMultipartUpload document names ({@code <CompleteMultipartUpload><Part><PartNumber/><ETag/>
   * <ChecksumCRC32/>...</Part>...}), in its order, checked for S3's shape: at least one part, each with a number and an
   * ETag, in ascending order (InvalidPartOrder); anything else, a DTD and entities included, is MalformedXML.
   */
  static List<Named> named(byte[] document) {
    List<Named> parts = S3Xml.read(document, "CompleteMultipartUpload", r -> {
      List<Named> named = new ArrayList<>();
      while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
        if (!r.getLocalName().equals("Part") || named.size() == MAX_PART_NUMBER) {
          throw malformed();
        }
        named.add(part(r));
      }
      return named;
    });
    if (parts.isEmpty()) {
      throw malformed();
    }
    for (int i = 1; i < parts.size(); i++) {
      if (parts.get(i).number() <= parts.get(i - 1).number()) {
        throw new S3Exception(S3Error.INVALID_PART_ORDER);
      }
    }
    return parts;
  }

  /** One {@code <Part>}, the reader on its start tag; leaves it on its end tag. */
  private static Named part(XMLStreamReader r) throws XMLStreamException {
    int number = -1;
    String etag = null;
    Map<String, String> checksums = new HashMap<>();
    while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
      String name = r.getLocalName();
      String text = r.getElementText().strip();
      if (name.equals("PartNumber")) {
        number = number(text);
        if (number < 1 || number > MAX_PART_NUMBER) {
          throw new S3Exception(S3Error.INVALID_ARGUMENT, "Part number must be an integer between 1 and "
              + MAX_PART_NUMBER + ", inclusive").with("ArgumentName", "PartNumber").with("ArgumentValue", text);
        }
      } else if (name.equals("ETag")) {
        etag = text.length() >= 2 && text.startsWith("\"") && text.endsWith("\"")
            ? text.substring(1, text.length() - 1) : text;
      } else if (name.startsWith("Checksum") && Checksums.ALGORITHMS.contains(name.substring(8)
          .toLowerCase(Locale.ROOT))) {
        checksums.put(name.substring(8).toLowerCase(Locale.ROOT), text);
      }
    }
    if (number < 0 || etag == null) {
      throw malformed();
    }
    return new Named(number, etag.toLowerCase(Locale.ROOT), Map.copyOf(checksums));
  }

  private static S3Exception malformed() {
    return new S3Exception(S3Error.MALFORMED_XML);
  }
}
