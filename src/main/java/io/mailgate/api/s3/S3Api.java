package io.mailgate.api.s3;

import io.mailgate.api.ApiVerticle;
import io.mailgate.api.RequestAuthenticator;
import io.mailgate.ByteBudget;
import io.mailgate.OffLoop;
import io.mailgate.api.sigv4.SigV4Result;
import io.mailgate.api.sigv4.SigV4Verifier;
import io.mailgate.api.sigv4.SignedQuery;
import io.mailgate.metrics.Metrics;
import io.mailgate.send.Caller;
import io.mailgate.store.MultipartStore;
import io.mailgate.store.ReceivedObjectStore;
import io.mailgate.store.ReceivedObjectStore.PartOf;
import io.mailgate.store.ReceivedObjectStore.StoredObject;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The mail that receipt rules' S3 actions stored, read back through a path-style subset of the S3 REST API under
 * {@value #PATH}: an S3 client whose endpoint is {@code http://host:port/s3} (path-style) works unchanged.
 *
 * <p>Operations: GetObject ({@code GET /s3/{bucket}/{key}}, one {@code Range} honoured, or one part
 * ({@code partNumber}: of an object completed from a multipart upload, that part as it was put, with
 * {@code x-amz-mp-parts-count}; of one put whole, part 1 is the object), the {@code response-*} header overrides;
 * {@code versionId=null} names the object itself, as for an unversioned object in S3), HeadObject, GetObjectAttributes
 * ({@code ?attributes}: ETag, checksum, parts with their checksums, size), DeleteObject (204,
 * also for a key that is not there), DeleteObjects ({@link DeleteObjects}: up to 1,000 keys in one statement),
 * ListObjectsV2 ({@code GET /s3/{bucket}?list-type=2}: prefix, delimiter, max-keys
 * up to 1000, continuation-token, start-after, encoding-type=url, fetch-owner; and ListObjects, v1, with its marker),
 * HeadBucket and PutObject ({@code PUT /s3/{bucket}/{key}}, presigned or signed in its Authorization header: the body
 * by its SHA-256, {@code UNSIGNED-PAYLOAD}, or streamed in aws-chunked encoding with signed chunks or a checksum
 * trailer, as the SDKs send it; Content-MD5 and the {@code x-amz-checksum-*} algorithms checked, the checksum echoed
 * and kept (GetObject and HeadObject give it back with {@code x-amz-checksum-mode: ENABLED}), the ETag the content's
 * MD5; at most {@link Upload#MAX_OBJECT_BYTES}, refused from the headers; the body read, once its access key is known
 * to exist, within the node's budget of S3 bytes in memory (SlowDown past it); nothing written unless every check
 * passed; the object's message id {@code s3-put-<request id>}; a bucket is made by putting an object in it, or by
 * CreateBucket), DeleteBucket (an empty one), and
 * multipart uploads ({@link Multipart}: CreateMultipartUpload, UploadPart, whose body is read as PutObject's,
 * UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads), CopyObject within
 * the account. PutObject, CompleteMultipartUpload and CopyObject take S3's conditional writes
 * ({@code If-None-Match: *}, {@code If-Match}) on the object they would replace. ListBuckets ({@code GET /s3}) lists
 * the account's buckets; a bucket's CORS rules are kept (PutBucketCors, GetBucketCors, DeleteBucketCors: {@link Cors}),
 * answer browsers' preflights ({@code OPTIONS}) and give the answers to requests with an Origin their headers; its
 * other configurations read are those of a bucket without any ({@link BucketConfigurations}). Anything else is S3's
 * MethodNotAllowed (POST but a multipart upload's, DeleteObjects' or an HTML form's: POST Object, {@link PostObject})
 * or NotImplemented (setting a bucket's other configurations...). ACLs are disabled ({@link Acls}).
 *
 * <p>Requests are signed with SigV4 for service {@code s3} (header or presigned URL) with the account's access keys,
 * the SES API's. Buckets are the account's own namespaces: another account's objects are never seen, whatever the
 * bucket's name. A bucket exists while it holds one of the account's objects or uploads under way, was made and not
 * deleted since, or one of its receipt rules' S3 actions names it; otherwise a request in it is NoSuchBucket. What an
 * account keeps counts in {@code receiving.maxStoredBytesPerAccount}: a PUT past it is refused (EntityTooLarge, saying
 * so). An object's ETag is the quoted MD5 of its content, or for one completed from a multipart upload S3's: the MD5 of
 * its parts' MD5s, a dash and their count (stored with it, so HEAD and ListObjectsV2 give it without reading the
 * content). It keeps the metadata it was written with ({@link ObjectMetadata}: its Content-Type, Content-Disposition,
 * {@code x-amz-meta-*}...), which GetObject and HeadObject give back, and its tags ({@link ObjectTags}: given with a
 * write, or read and set on their own with {@code ?tagging}).
 *
 * <p>Errors are S3's error document ({@code <Error><Code>...}) with S3's status; a HEAD's has no body.
 */
public final class S3Api {
  private static final Logger LOG = Logger.getLogger(S3Api.class.getName());

  /** Where the API is served: a prefix no other route uses. */
  public static final String PATH = "/s3";
  /** The most keys one ListObjectsV2 page holds, and its default. */
  static final int MAX_KEYS = 1000;
  /** S3's limit on a key: 1,024 bytes of UTF-8. */
  static final int MAX_KEY_BYTES = 1024;
  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH).withZone(ZoneOffset.UTC);
  /** Query parameters that name another operation on the same resource (ACLs, tagging, uploads...). */
  private static final Set<String> SUBRESOURCES = Set.of("acl", "attributes", "legal-hold", "restore", "retention",
      "select", "tagging", "torrent", "uploadId", "uploads");
  /** GetObject's parameters that set a header of the answer. */
  private static final Map<String, String> RESPONSE_OVERRIDES = Map.of(
      "response-content-type", "Content-Type",
      "response-content-language", "Content-Language",
      "response-expires", "Expires",
      "response-cache-control", "Cache-Control",
      "response-content-disposition", "Content-Disposition",
      "response-content-encoding", "Content-Encoding");

  /**
   * The most of a refused request's body read and dropped to keep its connection (see {@link #fail}): the AWS SDKs send
   * larger bodies with {@code Expect: 100-continue}, waiting for the verdict before they send them.
   */
  static final long MAX_DRAINED_BYTES = 1024 * 1024;
  /** How long a refused request's dropped body may take to arrive before its connection is closed. */
  private static final long DRAIN_MILLIS = 30_000;
  /** Set on a request whose body is being read (it is not drained when refused). */
  private static final String BODY_READ = "mailgate.s3.bodyRead";

  private final RequestAuthenticator auth;
  private final ReceivedObjectStore store;
  private final Multipart multipart;
  private final ByteBudget reads;
  private final ByteBudget forms;
  private final long maxStoredBytes;

  /**
   * The most bytes of HTML forms (POST Object) a node reads at once, besides {@code reads}: a form carries its own
   * credentials, so it is read before anyone is known to have sent it, and such reads may take only this share of the
   * budget (one form of the largest size), the rest staying for uploads of known keys.
   */
  public static final long MAX_FORMS_IN_FLIGHT = PostObject.MAX_FORM_BYTES;

  /**
   * @param reads the objects (or ranges) the node's GETs hold in memory while they are sent: one that would go past
   *     it is answered SlowDown (503), which the SDKs retry with backoff
   * @param forms the node's budget of HTML forms being read ({@link #MAX_FORMS_IN_FLIGHT}), taken with {@code reads}
   */
  public S3Api(RequestAuthenticator auth, ReceivedObjectStore store, MultipartStore uploads, ByteBudget reads,
      ByteBudget forms, long maxStoredBytes) {
    this.auth = auth;
    this.store = store;
    this.multipart = new Multipart(uploads, store, maxStoredBytes);
    this.reads = reads;
    this.forms = forms;
    this.maxStoredBytes = maxStoredBytes;
  }

  /** The resource a path names: the service (no bucket), a bucket (no key) or an object. */
  record Resource(String bucket, String key) {

    /**
     * Reads {@code /s3[/bucket[/key]]}, still percent-encoded as received. A path the router matched only once
     * normalized ({@code /%73%33/...}, {@code /x/../s3/...}) is InvalidURI: the path as signed must say it.
     */
    static Resource parse(String rawPath) {
      if (!serves(rawPath)) {
        throw new S3Exception(S3Error.INVALID_URI);
      }
      String rest = rawPath.substring(PATH.length());
      if (rest.isEmpty() || rest.equals("/")) {
        return new Resource(null, null);
      }
      int slash = rest.indexOf('/', 1);
      String bucket = decode(slash < 0 ? rest.substring(1) : rest.substring(1, slash));
      if (bucket.isEmpty()) {
        throw new S3Exception(S3Error.INVALID_BUCKET_NAME).with("BucketName", bucket);
      }
      String key = slash < 0 ? "" : decode(rest.substring(slash + 1));
      if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
        throw new S3Exception(S3Error.KEY_TOO_LONG).with("MaxSizeAllowed", Integer.toString(MAX_KEY_BYTES));
      }
      return new Resource(bucket, key.isEmpty() ? null : key);
    }

    String type() {
      return key != null ? "OBJECT" : bucket != null ? "BUCKET" : "SERVICE";
    }
  }

  /** Serves one request under {@value #PATH}. */
  public void handle(RoutingContext ctx) {
    String requestId = requestId();
    HttpServerRequest request = ctx.request();
    // S3 lives on a domain of its own; here the console shares the origin. A stored message served as a page (a
    // presigned link with response-content-type=text/html) must run nothing and reach nothing on it.
    ctx.response().putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Content-Security-Policy", "default-src 'none'; sandbox");
    Future<Void> answered;
    try {
      Resource resource = Resource.parse(request.path());
      Map<String, String> params = params(request.query());
      HttpMethod method = request.method();
      String origin = request.getHeader("Origin");
      if (method == HttpMethod.OPTIONS && resource.bucket() != null) {
        answered = preflight(ctx, resource, requestId);
      } else if (origin == null || resource.bucket() == null) {
        answered = dispatch(ctx, resource, params, requestId);
      } else {
        // a browser's request: the bucket's CORS rules give the answer its headers, whatever the answer
        if (method == HttpMethod.PUT || (method == HttpMethod.POST && !params.containsKey("uploads"))) {
          request.pause(); // a body its operation reads (or drops, refused): kept until the reader is there
        }
        answered = store.corsOf(resource.bucket(), RequestAuthenticator.claimedKey(request).orElse(null))
            .otherwise(e -> {
              LOG.warning("CORS rules of bucket " + resource.bucket() + " not read (an answer without CORS headers): "
                  + e.getMessage());
              return List.of();
            })
            .compose(configurations -> {
              if (!configurations.isEmpty()) {
                ctx.response().putHeader("Vary", Cors.VARY);
                Cors.Allowed allowed = Cors.allowed(configurations, origin, method.name(), List.of());
                if (allowed != null) {
                  Cors.allow(ctx.response().headers(), allowed, null);
                }
              }
              try {
                return dispatch(ctx, resource, params, requestId);
              } catch (S3Exception e) {
                return Future.failedFuture(e);
              }
            });
      }
    } catch (S3Exception e) {
      answered = Future.failedFuture(e);
    }
    answered.onFailure(e -> fail(ctx, e, requestId));
  }

  /** The operation a request asks for, done: thrown, a refusal before anything is read. */
  private Future<Void> dispatch(RoutingContext ctx, Resource resource, Map<String, String> params, String requestId) {
    HttpServerRequest request = ctx.request();
    HttpMethod method = request.method();
    boolean ofUpload = resource.key() != null && (params.containsKey("uploads") || params.containsKey("uploadId"));
    boolean ofBucket = resource.key() == null && resource.bucket() != null;
    boolean deletes = ofBucket && method == HttpMethod.POST && params.containsKey("delete");
    boolean form = ofBucket && method == HttpMethod.POST && !deletes && !params.containsKey("uploads")
        && PostObject.isForm(request.getHeader("Content-Type"));
    boolean allowed = resource.bucket() == null ? method == HttpMethod.GET
        : method == HttpMethod.GET || method == HttpMethod.HEAD
            || ((method == HttpMethod.DELETE || method == HttpMethod.PUT) && resource.key() != null)
            || (method == HttpMethod.POST && ofUpload) || deletes || form;
    boolean ofBucketItself = (method == HttpMethod.PUT || method == HttpMethod.DELETE) && ofBucket;
    boolean putAcl = method == HttpMethod.PUT && resource.bucket() != null && params.containsKey("acl");
    boolean cors = ofBucketItself && params.containsKey("cors");
    if (ofBucketItself && !params.isEmpty() && !putAcl && !cors) {
      // a bucket's other configurations (?tagging, ?policy, ?lifecycle...) are not kept: refused, not acknowledged
      throw new S3Exception(S3Error.NOT_IMPLEMENTED, "The bucket's '" + params.keySet().iterator().next()
          + "' configuration is not implemented here.");
    }
    if (!ofBucketItself && !allowed) {
      // refused before authentication: a PUT's body is never read
      throw new S3Exception(S3Error.METHOD_NOT_ALLOWED).with("Method", method.name())
          .with("ResourceType", resource.type());
    }
    boolean presigned = request.getHeader("Authorization") == null;
    Future<Void> answered;
    if (putAcl) {
      answered = putAcl(ctx, resource, requestId);
    } else if (cors) {
      answered = method == HttpMethod.PUT ? putCors(ctx, resource.bucket(), requestId)
          : auth.authenticateS3(request, rejected -> refusal(rejected, presigned))
              .compose(caller -> deleteCors(ctx, caller, resource.bucket(), requestId));
    } else if (ofBucketItself) {
      answered = method == HttpMethod.PUT ? createBucket(ctx, resource.bucket(), requestId)
          : auth.authenticateS3(request, rejected -> refusal(rejected, presigned))
              .compose(caller -> deleteBucket(ctx, caller, resource.bucket(), requestId));
    } else if (method == HttpMethod.PUT) {
      answered = putObject(ctx, resource, params, requestId);
    } else if (method == HttpMethod.POST && params.containsKey("uploadId")) {
      answered = completeMultipartUpload(ctx, resource, params, requestId);
    } else if (deletes) {
      answered = deleteObjects(ctx, resource.bucket(), requestId);
    } else if (form) {
      answered = postObject(ctx, resource.bucket(), requestId);
    } else {
      answered = auth.authenticateS3(request, rejected -> refusal(rejected, presigned)).compose(caller -> ofUpload
          ? multipart.serve(ctx, caller, resource, params, requestId)
          : serve(ctx, caller, resource, params, requestId));
    }
    return answered;
  }

  /** The failure handler of the API's routes: what escaped {@link #handle}, in S3's shape. */
  public void fail(RoutingContext ctx) {
    fail(ctx, ctx.failure(), requestId());
  }

  /** Whether a path (as received) is the API's, for answers given before routing. */
  public static boolean serves(String rawPath) {
    return rawPath != null && rawPath.startsWith(PATH) && (rawPath.length() == PATH.length()
        || rawPath.charAt(PATH.length()) == '/');
  }

  /** A request of the API's that the router could not take (a malformed escape in its path): InvalidURI. */
  public void malformed(RoutingContext ctx) {
    fail(ctx, new S3Exception(S3Error.INVALID_URI), requestId());
  }

  /** The query's parameters, read exactly as signed ('+' is a plus sign, ';' a character). */
  private static Map<String, String> params(String query) {
    try {
      return SignedQuery.parse(query);
    } catch (IllegalArgumentException malformed) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Malformed query string: " + malformed.getMessage() + ".");
    }
  }

  private Future<Void> serve(RoutingContext ctx, Caller caller, Resource resource, Map<String, String> params,
      String requestId) {
    if (resource.key() == null && params.containsKey("uploads") && ctx.request().method() == HttpMethod.GET) {
      return multipart.listUploads(caller, resource.bucket(), params,
          ctx.response().putHeader("x-amz-request-id", requestId));
    }
    if (resource.key() == null && resource.bucket() != null && ctx.request().method() == HttpMethod.GET
        && params.containsKey("cors")) { // GetBucketCors
      String account = caller.account().id();
      return store.cors(account, resource.bucket()).compose(rules -> rules.isPresent()
          ? ctx.response().putHeader("x-amz-request-id", requestId).putHeader("Content-Type", "application/xml")
              .end(Cors.document(rules.get()))
          : store.bucketExists(account, resource.bucket()).compose(exists -> Future.failedFuture(exists
              ? new S3Exception(S3Error.NO_SUCH_CORS_CONFIGURATION).with("BucketName", resource.bucket())
              : noSuchBucket(resource.bucket()))));
    }
    String configuration = resource.key() == null && resource.bucket() != null
        && ctx.request().method() == HttpMethod.GET ? BucketConfigurations.asked(params) : null;
    if (configuration != null) {
      // a bucket's configuration, which it has not: answered as S3 answers for a bucket without it
      return store.bucketExists(caller.account().id(), resource.bucket()).compose(exists -> exists
          ? ctx.response().putHeader("x-amz-request-id", requestId).putHeader("Content-Type", "application/xml")
              .end(configuration.equals(BucketConfigurations.ACL) ? Acls.policy(caller.account())
                  : BucketConfigurations.document(configuration, resource.bucket()))
          : Future.failedFuture(noSuchBucket(resource.bucket())));
    }
    boolean attributes = resource.key() != null && params.containsKey("attributes")
        && ctx.request().method() == HttpMethod.GET;
    boolean tagging = resource.key() != null && params.containsKey("tagging")
        && ctx.request().method() != HttpMethod.HEAD;
    boolean acl = resource.key() != null && params.containsKey("acl") && ctx.request().method() == HttpMethod.GET;
    for (String name : params.keySet()) {
      if (SUBRESOURCES.contains(name) && !(attributes && name.equals("attributes"))
          && !(tagging && name.equals("tagging")) && !(acl && name.equals("acl"))) {
        return Future.failedFuture(new S3Exception(S3Error.NOT_IMPLEMENTED,
            "The '" + name + "' parameter is not implemented here."));
      }
    }
    // objects are never versioned, and each is one part: what S3 answers for such an object
    String versionId = params.get("versionId");
    if (versionId != null && !versionId.equals("null")) {
      return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid version id specified")
          .with("ArgumentName", "versionId").with("ArgumentValue", versionId));
    }
    String account = caller.account().id();
    HttpServerResponse response = ctx.response().putHeader("x-amz-request-id", requestId);
    if (resource.bucket() == null) {
      return listBuckets(caller, params, response);
    }
    if (attributes) {
      return objectAttributes(ctx.request(), account, resource, response);
    }
    if (acl) { // GetObjectAcl: ACLs are disabled, the object is its owner's
      return store.head(account, resource.bucket(), resource.key()).compose(found -> found.isEmpty()
          ? missing(account, resource)
          : response.putHeader("Content-Type", "application/xml").end(Acls.policy(caller.account())));
    }
    if (tagging) {
      // GetObjectTagging; DeleteObjectTagging (204), the object's content and time as they are
      return ctx.request().method() == HttpMethod.GET
          ? store.tags(account, resource.bucket(), resource.key()).compose(tags -> tags.isEmpty()
              ? missing(account, resource)
              : response.putHeader("Content-Type", "application/xml").end(ObjectTags.document(tags.get())))
          : store.setTags(account, resource.bucket(), resource.key(), null).compose(found -> found
              ? response.setStatusCode(204).end() : missing(account, resource));
    }
    if (resource.key() == null) {
      if (ctx.request().method() == HttpMethod.HEAD) {
        return store.bucketExists(account, resource.bucket()).compose(exists -> exists
            ? response.end() : Future.failedFuture(noSuchBucket(resource.bucket())));
      }
      String listType = params.get("list-type");
      if (listType != null && !listType.equals("2")) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid List Type specified in Request")
            .with("ArgumentName", "list-type").with("ArgumentValue", listType));
      }
      return listObjects(caller, resource.bucket(), params, response, listType == null);
    }
    return switch (ctx.request().method().name()) {
      case "GET" -> getObject(ctx, account, resource, params, response);
      case "HEAD" -> {
        Asked asked = Asked.of(params, ctx.request());
        yield found(account, resource, asked).compose(found -> found.isEmpty() ? missing(account, resource)
            : headObject(ctx.request(), asked, found.get(), response));
      }
      // DELETE, the one other method let through for an object
      default -> store.delete(account, resource.bucket(), resource.key())
          .compose(deleted -> deleted ? Future.succeededFuture(true) : store.bucketExists(account, resource.bucket()))
          .compose(exists -> exists
              ? response.setStatusCode(204).end() : Future.failedFuture(noSuchBucket(resource.bucket())));
    };
  }

  /**
   * PutObject, and UploadPart ({@code partNumber} and {@code uploadId}): the body read and checked ({@link #readBody}),
   * then written in the account's namespace within {@code receiving.maxStoredBytesPerAccount}, as an object or as a
   * part of its upload.
   */
  private Future<Void> putObject(RoutingContext ctx, Resource resource, Map<String, String> params, String requestId) {
    HttpServerRequest request = ctx.request();
    request.pause(); // until the body's reader is there: what arrived before would be lost
    boolean part = params.containsKey("uploadId") || params.containsKey("partNumber");
    if (params.containsKey("tagging")) {
      return putObjectTagging(ctx, resource, requestId);
    }
    for (String name : params.keySet()) {
      if (SUBRESOURCES.contains(name) && !(part && name.equals("uploadId"))) {
        throw new S3Exception(S3Error.NOT_IMPLEMENTED, "The '" + name + "' parameter is not implemented here.");
      }
    }
    if (!part) {
      Acls.refuseForObject(request::getHeader);
    }
    String copySource = request.getHeader("x-amz-copy-source");
    if (copySource != null) {
      return part ? uploadPartCopy(ctx, resource, params, copySource, requestId)
          : copyObject(ctx, resource, copySource, requestId);
    }
    int partNumber = part ? Multipart.partNumber(params) : 0;
    // S3's conditional writes are PutObject's: a part is not an object
    Preconditions.Write conditions = part ? null : Preconditions.ofWrite(request::getHeader);
    // a part's metadata and tags are its upload's
    JsonObject metadata = part ? null : ObjectMetadata.of(request.headers());
    JsonObject tags = part ? null : ObjectTags.ofHeader(request.getHeader("x-amz-tagging"));
    Upload upload = Upload.of(request::getHeader);
    return readBody(ctx, upload).compose(read -> part
        ? multipart.putPart(ctx, read.caller(), resource, params.get("uploadId"), partNumber, read.content(),
            requestId)
        : store(ctx, read.caller(), resource, read.content(), metadata, tags, conditions, requestId));
  }

  /**
   * CompleteMultipartUpload ({@code POST} with {@code uploadId}): its document read as a body is ({@link #readBody},
   * at most {@link Multipart#MAX_DOCUMENT_BYTES}; the {@code x-amz-checksum-*} headers, which describe the object, are
   * not the document's), then the upload completed.
   */
  private Future<Void> completeMultipartUpload(RoutingContext ctx, Resource resource, Map<String, String> params,
      String requestId) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Preconditions.Write conditions = Preconditions.ofWrite(request::getHeader);
    Upload upload = Upload.of(request::getHeader, Multipart.MAX_DOCUMENT_BYTES, false);
    return readBody(ctx, upload).compose(read -> multipart.complete(ctx, read.caller(), resource,
        params.get("uploadId"), read.content().bytes(), conditions, requestId));
  }

  /**
   * PutObjectAcl and PutBucketAcl ({@code ?acl}): ACLs are disabled ({@link Acls}), so one is refused
   * (AccessControlListNotSupported; before its body is read when its headers ask for more) unless it asks for what
   * there is, the owner's full control: with a canned ACL and no document, or with a document (its Content-MD5 or a
   * checksum required, as S3 requires) granting no one else ({@link Acls#onlyOwner}); then 200, once the object or
   * bucket is found.
   */
  private Future<Void> putAcl(RoutingContext ctx, Resource resource, String requestId) {
    HttpServerRequest request = ctx.request();
    request.pause();
    String length = request.getHeader("Content-Length");
    boolean document = (length != null && !length.strip().equals("0"))
        || request.getHeader("Transfer-Encoding") != null;
    if (!Acls.ownerOnly(request::getHeader) || (document && request.getHeader("x-amz-acl") != null)) {
      throw new S3Exception(S3Error.ACCESS_CONTROL_LIST_NOT_SUPPORTED);
    }
    Future<Received> body = document ? readDocument(ctx, Acls.MAX_DOCUMENT_BYTES)
        : readBody(ctx, Upload.of(lengthZeroWhenAbsent(request), 0, false));
    return body.compose(read -> {
      String account = read.caller().account().id();
      if (document && !Acls.onlyOwner(read.content().bytes(), account)) {
        throw new S3Exception(S3Error.ACCESS_CONTROL_LIST_NOT_SUPPORTED);
      }
      Future<Boolean> found = resource.key() == null ? store.bucketExists(account, resource.bucket())
          : store.head(account, resource.bucket(), resource.key()).map(Optional::isPresent);
      return found.compose(exists -> exists ? ctx.response().putHeader("x-amz-request-id", requestId).end()
          : resource.key() == null ? Future.failedFuture(noSuchBucket(resource.bucket())) : missing(account, resource));
    });
  }

  /** PutObjectTagging's document: a few hundred bytes. */
  static final long MAX_TAGGING_DOCUMENT = 64 * 1024;

  /**
   * PutObjectTagging ({@code PUT /s3/{bucket}/{key}?tagging}): its {@code <Tagging>} document read as a body is (with
   * a Content-MD5 or a checksum, as S3 requires), checked ({@link ObjectTags}: InvalidTag, MalformedXML), and made the
   * object's tags, its content and time as they are.
   */
  private Future<Void> putObjectTagging(RoutingContext ctx, Resource resource, String requestId) {
    return readDocument(ctx, MAX_TAGGING_DOCUMENT).compose(read -> {
      JsonObject tags = ObjectTags.ofDocument(read.content().bytes());
      String account = read.caller().account().id();
      return store.setTags(account, resource.bucket(), resource.key(), tags).compose(found -> found
          ? ctx.response().putHeader("x-amz-request-id", requestId).end() : missing(account, resource));
    });
  }

  /**
   * A request's XML document of {@code max} bytes at most, read as a body is once it has a Content-MD5 or a checksum,
   * as S3 requires of these operations (InvalidRequest without, before the body is read).
   */
  private Future<Received> readDocument(RoutingContext ctx, long max) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Upload upload = Upload.of(request::getHeader, max, true);
    if (!upload.digested()) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "Missing required header for this request: Content-MD5");
    }
    return readBody(ctx, upload);
  }

  /**
   * DeleteObjects ({@code POST /s3/{bucket}?delete}, {@link DeleteObjects}): its document read as a body is (with a
   * Content-MD5 or a checksum, as S3 requires: InvalidRequest without), then its objects deleted in one statement, each
   * reported deleted (or not there, as S3 reports it), or not with why (PreconditionFailed for an ETag it does not
   * have, NoSuchKey for one asked of nothing, a key too long...); in a bucket the account does not have, NoSuchBucket.
   */
  private Future<Void> deleteObjects(RoutingContext ctx, String bucket, String requestId) {
    return readDocument(ctx, DeleteObjects.MAX_DOCUMENT_BYTES).compose(read -> {
      DeleteObjects.Request asked = DeleteObjects.parse(read.content().bytes());
      String account = read.caller().account().id();
      List<DeleteObjects.Asked> deletable = asked.objects().stream().filter(o -> o.refusal() == null).toList();
      return store.bucketExists(account, bucket).compose(exists -> exists
              ? store.deleteAll(account, bucket, deletable.stream().map(DeleteObjects.Asked::key).toList(),
                  deletable.stream().map(DeleteObjects.Asked::etag).toList())
              : Future.failedFuture(noSuchBucket(bucket)))
          .compose(deletions -> {
            // the store's answers are the deletable objects', in their order
            java.util.Iterator<ReceivedObjectStore.Deletion> done = deletions.iterator();
            List<DeleteObjects.Outcome> outcomes = new java.util.ArrayList<>(asked.objects().size());
            for (DeleteObjects.Asked o : asked.objects()) {
              outcomes.add(new DeleteObjects.Outcome(o, o.refusal() != null ? o.refusal() : switch (done.next()) {
                case DELETED -> null;
                case ETAG_DIFFERS -> new S3Exception(S3Error.PRECONDITION_FAILED);
                case NO_SUCH_KEY -> new S3Exception(S3Error.NO_SUCH_KEY);
              }));
            }
            return ctx.response().putHeader("x-amz-request-id", requestId).putHeader("Content-Type", "application/xml")
                .end(DeleteObjects.result(outcomes, asked.quiet()));
          });
    });
  }

  /**
   * CopyObject: an object of the account's ({@code x-amz-copy-source}: bucket/key, URL-encoded, with or without a
   * leading slash; {@code ?versionId=null} at most, as objects are not versioned) written at the request's key, in the
   * database (its content never comes to the node), within {@code receiving.maxStoredBytesPerAccount}. Its conditions
   * on the source ({@code x-amz-copy-source-if-*}) must hold (else PreconditionFailed, nothing written). The copy keeps
   * its source's metadata ({@code x-amz-metadata-directive: COPY}, the default) or takes the request's
   * ({@link ObjectMetadata}: REPLACE, which also lets an object be copied onto itself, as S3 does: its metadata and
   * time are then new). The request has no body (none, or an empty one) and is authenticated as any other.
   */
  private Future<Void> copyObject(RoutingContext ctx, Resource resource, String copySource, String requestId) {
    HttpServerRequest request = ctx.request();
    Resource source = copySource(copySource);
    String directive = request.getHeader("x-amz-metadata-directive");
    if (directive != null && !directive.equals("COPY") && !directive.equals("REPLACE")) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Unknown metadata directive.")
          .with("ArgumentName", "x-amz-metadata-directive").with("ArgumentValue", directive);
    }
    if (source.equals(resource) && !"REPLACE".equals(directive)) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "This copy request is illegal because it is trying to copy an "
          + "object to itself without changing the object's metadata, storage class, website redirect location or "
          + "encryption attributes.");
    }
    String tagging = request.getHeader("x-amz-tagging-directive");
    if (tagging != null && !tagging.equals("COPY") && !tagging.equals("REPLACE")) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Unknown tagging directive.")
          .with("ArgumentName", "x-amz-tagging-directive").with("ArgumentValue", tagging);
    }
    // REPLACE without any: none (an empty object, which the store keeps as none); COPY: null, the source's
    JsonObject metadata = !"REPLACE".equals(directive) ? null
        : Optional.ofNullable(ObjectMetadata.of(request.headers())).orElseGet(JsonObject::new);
    JsonObject tags = !"REPLACE".equals(tagging) ? null
        : Optional.ofNullable(ObjectTags.ofHeader(request.getHeader("x-amz-tagging"))).orElseGet(JsonObject::new);
    Preconditions conditions = Preconditions.ofCopySource(request::getHeader);
    Preconditions.Write destination = Preconditions.ofWrite(request::getHeader);
    return readNoBody(ctx, "CopyObject").compose(read -> {
      String account = read.caller().account().id();
      Instant now = Instant.now();
      return store.copy(account, source.bucket(), source.key(), resource.bucket(), resource.key(), metadata, tags,
          maxStoredBytes, now, found -> {
            refuseUnmet(conditions, found);
            return Future.succeededFuture();
          }, Preconditions.Write.check(destination, resource.key())).compose(copied -> {
            if (copied.isEmpty()) {
              return missing(account, source);
            }
            long size = copied.get().source().size();
            if (copied.get().used() >= 0) {
              return Future.failedFuture(new S3Exception(S3Error.ENTITY_TOO_LARGE, "The copy (" + size + " bytes) "
                  + "would take the account past what it may keep (" + maxStoredBytes + " bytes, "
                  + copied.get().used() + " in use): delete objects first.").with("ProposedSize",
                  Long.toString(size)));
            }
            return ctx.response().putHeader("x-amz-request-id", requestId).putHeader("Content-Type", "application/xml")
                .end(S3Xml.copyObjectResult(now, copied.get().etag(), copied.get().checksum()));
          });
    });
  }

  /** The most buckets an account makes (CreateBucket); those its objects and receipt rules name are not counted. */
  static final int MAX_BUCKETS = 1_000;
  /** A CreateBucket's body: its CreateBucketConfiguration, a few hundred bytes. */
  static final long MAX_BUCKET_CONFIGURATION = 64 * 1024;

  /**
   * CreateBucket ({@code PUT /s3/{bucket}}): the bucket made in the account's namespace, so that it exists while it is
   * empty (HeadBucket, ListObjects); a bucket the account has already is answered 200 again, as S3 answers its owner in
   * us-east-1. Its name is S3's (InvalidBucketName); its CreateBucketConfiguration, when there is one, is read and
   * checked for S3's shape (MalformedXML), its location not kept (the endpoint answers in any region).
   */
  private Future<Void> createBucket(RoutingContext ctx, String bucket, String requestId) {
    HttpServerRequest request = ctx.request();
    request.pause();
    if (!BucketNames.valid(bucket)) {
      throw new S3Exception(S3Error.INVALID_BUCKET_NAME).with("BucketName", bucket);
    }
    Acls.refuseForBucket(request::getHeader);
    return readBody(ctx, Upload.of(lengthZeroWhenAbsent(request), MAX_BUCKET_CONFIGURATION, false)).compose(read -> {
          byte[] document = read.content().bytes();
          if (document.length > 0 && !S3Xml.rootIs(document, "CreateBucketConfiguration")) {
            throw new S3Exception(S3Error.MALFORMED_XML);
          }
          return store.createBucket(read.caller().account().id(), bucket, Instant.now(), MAX_BUCKETS);
        }).compose(made -> made == ReceivedObjectStore.BucketCreation.TOO_MANY
            ? Future.failedFuture(new S3Exception(S3Error.TOO_MANY_BUCKETS, "The account has made " + MAX_BUCKETS
                + " buckets: delete some first."))
            : ctx.response().putHeader("x-amz-request-id", requestId).putHeader("Location", "/" + bucket).end());
  }

  /**
   * PutBucketCors ({@code PUT /s3/{bucket}?cors}): its {@code <CORSConfiguration>} document read as a body is (with a
   * Content-MD5 or a checksum, as S3 requires), checked ({@link Cors}: MalformedXML, InvalidRequest), and made the
   * bucket's, replacing any; NoSuchBucket for a bucket the account does not have, nothing written.
   */
  private Future<Void> putCors(RoutingContext ctx, String bucket, String requestId) {
    return readDocument(ctx, Cors.MAX_DOCUMENT_BYTES)
        .compose(read -> store.setCors(read.caller().account().id(), bucket, Cors.ofDocument(read.content().bytes()),
            Instant.now()))
        .compose(set -> set ? ctx.response().putHeader("x-amz-request-id", requestId).end()
            : Future.failedFuture(noSuchBucket(bucket)));
  }

  /** DeleteBucketCors ({@code DELETE /s3/{bucket}?cors}): 204, whether the bucket had one or not; else NoSuchBucket. */
  private Future<Void> deleteCors(RoutingContext ctx, Caller caller, String bucket, String requestId) {
    return store.deleteCors(caller.account().id(), bucket).compose(exists -> exists
        ? ctx.response().putHeader("x-amz-request-id", requestId).setStatusCode(204).end()
        : Future.failedFuture(noSuchBucket(bucket)));
  }

  /**
   * A browser's preflight ({@code OPTIONS /s3/{bucket}[/{key}]}, S3's "OPTIONS object"): 200 with the CORS headers of
   * the first rule that allows its Origin, Access-Control-Request-Method and Access-Control-Request-Headers; 403
   * (AccessForbidden) when the bucket has no CORS configuration or no rule allows it; 400 without an Origin or a method
   * S3 knows. A preflight carries no credentials: the rules are those of the account whose key a presigned URL names
   * (its X-Amz-Credential), or with none, those of every account's bucket of that name.
   */
  private Future<Void> preflight(RoutingContext ctx, Resource resource, String requestId) {
    HttpServerRequest request = ctx.request();
    String origin = request.getHeader("Origin");
    if (origin == null) {
      throw new S3Exception(S3Error.BAD_REQUEST, "Insufficient information. Origin request header needed.");
    }
    String method = request.getHeader("Access-Control-Request-Method");
    if (method == null || !Cors.METHODS.contains(method)) {
      throw new S3Exception(S3Error.BAD_REQUEST, "Invalid Access-Control-Request-Method: " + method);
    }
    List<String> requested = Cors.requestedHeaders(request.getHeader("Access-Control-Request-Headers"));
    return store.corsOf(resource.bucket(), RequestAuthenticator.claimedKey(request).orElse(null))
        .compose(configurations -> {
          if (configurations.isEmpty()) {
            return Future.failedFuture(new S3Exception(S3Error.ACCESS_FORBIDDEN,
                "CORSResponse: CORS is not enabled for this bucket."));
          }
          HttpServerResponse response = ctx.response().putHeader("x-amz-request-id", requestId)
              .putHeader("Vary", Cors.VARY);
          Cors.Allowed allowed = Cors.allowed(configurations, origin, method, requested);
          if (allowed == null) {
            return Future.failedFuture(new S3Exception(S3Error.ACCESS_FORBIDDEN, "CORSResponse: This CORS request is "
                + "not allowed. This is usually because the evalution of Origin, request method / "
                + "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the "
                + "resource's CORS spec.").with("Method", method).with("ResourceType", resource.type()));
          }
          Cors.allow(response.headers(), allowed, requested);
          return response.end();
        });
  }

  /**
   * DeleteBucket ({@code DELETE /s3/{bucket}}): an empty bucket (BucketNotEmpty while it holds an object or an upload
   * under way), 204. A bucket a receipt rule's S3 action names exists as long as the rule names it.
   */
  private Future<Void> deleteBucket(RoutingContext ctx, Caller caller, String bucket, String requestId) {
    return store.deleteBucket(caller.account().id(), bucket).compose(deleted -> switch (deleted) {
      case NOT_EMPTY -> Future.failedFuture(new S3Exception(S3Error.BUCKET_NOT_EMPTY).with("BucketName", bucket));
      case NO_SUCH_BUCKET -> Future.failedFuture(noSuchBucket(bucket));
      case DELETED -> ctx.response().putHeader("x-amz-request-id", requestId).setStatusCode(204).end();
    });
  }

  /**
   * A copy's request, which has no body (none, or an empty one: a client may leave Content-Length out, as curl's PUT
   * without data does), authenticated as any other.
   */
  private Future<Received> readNoBody(RoutingContext ctx, String operation) {
    HttpServerRequest request = ctx.request();
    String length = request.getHeader("Content-Length");
    if (length != null && !length.strip().equals("0")) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "A " + operation + " request has no body: the object is copied "
          + "from x-amz-copy-source.");
    }
    return readBody(ctx, Upload.of(lengthZeroWhenAbsent(request), 0, false));
  }

  /** The request's headers, a Content-Length it does not have being 0: a request without a body may leave it out. */
  private static Function<String, String> lengthZeroWhenAbsent(HttpServerRequest request) {
    return name -> name.equals("Content-Length") && request.getHeader(name) == null ? "0" : request.getHeader(name);
  }

  /**
   * UploadPartCopy: the bytes of an object of the account's ({@code x-amz-copy-source}, as CopyObject's), all of them
   * or those of {@code x-amz-copy-source-range} ({@code bytes=first-last}, within the object), put as part
   * {@code partNumber} of the upload, as UploadPart puts one; its conditions on the source as CopyObject's, checked on
   * the bytes read. The bytes come to the node (a part's MD5 and its upload's checksum are computed from them), within
   * its budget of S3 bytes in memory (SlowDown past it), as a GetObject's.
   */
  private Future<Void> uploadPartCopy(RoutingContext ctx, Resource resource, Map<String, String> params,
      String copySource, String requestId) {
    HttpServerRequest request = ctx.request();
    Resource source = copySource(copySource);
    int number = Multipart.partNumber(params);
    String rangeHeader = request.getHeader("x-amz-copy-source-range");
    ByteRange range = rangeHeader == null ? null : copySourceRange(rangeHeader);
    Preconditions conditions = Preconditions.ofCopySource(request::getHeader);
    return readNoBody(ctx, "UploadPartCopy").compose(read -> {
      String account = read.caller().account().id();
      return multipart.copyPart(ctx, read.caller(), resource, params.get("uploadId"), number,
          () -> copied(account, source, range, conditions), requestId);
    });
  }

  /**
   * The bytes a part copies, read once the source's conditions held on its size, ETag and time: taken from the read
   * budget until {@code bytes} is done with them ({@link Multipart#copyPart} gives them back).
   */
  private Future<Multipart.Source> copied(String account, Resource source, ByteRange range, Preconditions conditions) {
    return store.head(account, source.bucket(), source.key()).compose(head -> {
      if (head.isEmpty()) {
        return missing(account, source);
      }
      StoredObject o = head.get();
      refuseUnmet(conditions, o);
      if (range != null && range.to() >= o.size()) {
        throw new S3Exception(S3Error.INVALID_ARGUMENT, "Range specified is not valid for source object of size: "
            + o.size()).with("ArgumentName", "x-amz-copy-source-range");
      }
      long held = range == null ? o.size() : range.to() - range.from() + 1;
      if (!reads.take(held)) {
        return Future.failedFuture(new S3Exception(S3Error.SLOW_DOWN));
      }
      Future<Optional<StoredObject>> bytes = range == null ? store.get(account, source.bucket(), source.key())
          : store.get(account, source.bucket(), source.key(), range.from(), range.to());
      return bytes.<Multipart.Source>compose(found -> {
        // what was read is what is checked: written again meanwhile, its conditions are checked on it, and its range
        if (found.isEmpty()) {
          return missing(account, source);
        }
        StoredObject now = found.get();
        refuseUnmet(conditions, now);
        if (range == null && now.size() != held) { // its size was what the budget took: a retry reads it as it is now
          throw new S3Exception(S3Error.SLOW_DOWN, "The source object was written again while it was read: try again.");
        }
        if (now.content() == null || now.content().length() != held) {
          throw new S3Exception(S3Error.INVALID_ARGUMENT, "Range specified is not valid for source object of size: "
              + now.size()).with("ArgumentName", "x-amz-copy-source-range");
        }
        return Future.succeededFuture(new Multipart.Source(now.content().getBytes(), () -> reads.release(held)));
      }).onFailure(e -> reads.release(held));
    });
  }

  /** A copy's conditions on its source ({@code x-amz-copy-source-if-*}): 412 PreconditionFailed when one fails. */
  private static void refuseUnmet(Preconditions conditions, StoredObject source) {
    Preconditions.Verdict verdict = conditions.evaluate(source.etag(), source.lastModified());
    if (verdict.outcome() != Preconditions.Outcome.PROCEED) {
      throw verdict.refusal();
    }
  }

  /**
   * UploadPartCopy's {@code x-amz-copy-source-range}: {@code bytes=first-last}, both offsets given, first at most
   * last (S3 takes no other form); InvalidArgument otherwise.
   */
  static ByteRange copySourceRange(String header) {
    Optional<ByteRange> range = ByteRange.parse(header);
    if (range.isEmpty() || range.get().from() < 0 || range.get().to() == Long.MAX_VALUE) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "The x-amz-copy-source-range value must be of the form "
          + "bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
          .with("ArgumentName", "x-amz-copy-source-range").with("ArgumentValue", header);
    }
    return range.get();
  }

  /**
   * The object {@code x-amz-copy-source} names: {@code bucket/key} or {@code /bucket/key}, percent-encoded, and
   * {@code ?versionId=null} at most. InvalidArgument when it names no key (or an access point's ARN: there are none
   * here), InvalidArgument for another version (objects are not versioned).
   */
  static Resource copySource(String header) {
    String raw = header.strip();
    int query = raw.indexOf('?');
    if (query >= 0) {
      String version = raw.substring(query + 1);
      if (!version.startsWith("versionId=")) {
        throw copySourceInvalid(header);
      }
      String id = decode(version.substring("versionId=".length()));
      if (!id.equals("null")) {
        throw new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid version id specified")
            .with("ArgumentName", "versionId").with("ArgumentValue", id);
      }
      raw = raw.substring(0, query);
    }
    if (raw.startsWith("/")) {
      raw = raw.substring(1);
    }
    int slash = raw.indexOf('/');
    if (slash <= 0 || slash == raw.length() - 1 || raw.startsWith("arn:")) {
      throw copySourceInvalid(header);
    }
    String key = decode(raw.substring(slash + 1));
    if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
      throw new S3Exception(S3Error.KEY_TOO_LONG).with("MaxSizeAllowed", Integer.toString(MAX_KEY_BYTES));
    }
    return new Resource(decode(raw.substring(0, slash)), key);
  }

  private static S3Exception copySourceInvalid(String header) {
    return new S3Exception(S3Error.INVALID_ARGUMENT, "Copy Source must mention the source bucket and key: "
        + "sourcebucket/sourcekey").with("ArgumentName", "x-amz-copy-source").with("ArgumentValue", header);
  }

  /** A body read, with who sent it. */
  record Received(Caller caller, Upload.Checked content) {}

  /**
   * Reads a paused request's body whole (its size claimed by Content-Length, and an aws-chunked body's decoded size
   * too, counted in the node's budget of S3 bytes in memory, once its access key is known to exist), authenticated
   * with its hash or, streamed in aws-chunked encoding, chunk by chunk ({@link AwsChunked}), checked against its
   * Content-MD5 and {@code x-amz-checksum-*} (header or trailer). The request is signed in its Authorization header
   * or presigned (query-string authentication: a presigned PUT, as S3's presigners make them, its payload unsigned
   * unless the URL names its hash).
   */
  private Future<Received> readBody(RoutingContext ctx, Upload upload) {
    HttpServerRequest request = ctx.request();
    // a presigned URL's payload is UNSIGNED-PAYLOAD unless the URL names its hash: the verifier knows
    boolean presigned = request.getHeader("Authorization") == null;
    Function<SigV4Result.Rejected, S3Exception> refused = rejected -> refusal(rejected, presigned);
    return auth.keyBeforeBodyS3(request, refused)
        .compose(v -> readHeld(ctx, upload))
        .compose(bytes -> OffLoop.when(bytes.length, () -> upload.hashed(bytes))
            .compose(hash -> auth.authenticateS3Upload(request, hash, refused))
            .compose(caller -> OffLoop.when(bytes.length, () -> upload.content(bytes, caller.chunks()))
                .map(content -> new Received(caller.caller(), content))));
  }

  /**
   * Reads a paused request's body whole, its size ({@code upload}'s) counted in the node's budget of S3 bytes in
   * memory until the request ends (SlowDown past it), at 256 KB/s or better after 30 s (a trickle holds its claim from
   * everyone else: its connection is closed).
   */
  private Future<byte[]> readHeld(RoutingContext ctx, Upload upload) {
    HttpServerRequest request = ctx.request();
    long held = upload.inMemory();
    if (!reads.take(held)) {
      return Future.failedFuture(new S3Exception(S3Error.SLOW_DOWN));
    }
    ctx.put(BODY_READ, Boolean.TRUE);
    ApiVerticle.continueIfAwaited(ctx);
    long timer = ctx.vertx().setTimer(30_000 + upload.length() / 256, t -> request.connection().close());
    ctx.addEndHandler(ended -> {
      reads.release(held);
      ctx.vertx().cancelTimer(timer);
    });
    return readExactly(request, upload.length()).onComplete(read -> ctx.vertx().cancelTimer(timer));
  }

  /**
   * Reads a paused request's body into one array of the length its Content-Length claimed, as its chunks arrive: the
   * one copy of it in memory (a body aggregated by {@code request.body()} grows by steps of up to 4 MB past its
   * length, stays with the request until it ends, and its bytes would be copied out once more). A body that ends short
   * of its length, or runs past it, is IncompleteBody.
   */
  static Future<byte[]> readExactly(HttpServerRequest request, long length) {
    io.vertx.core.Promise<byte[]> read = io.vertx.core.Promise.promise();
    byte[] bytes = new byte[(int) length];
    int[] filled = {0};
    request.handler(chunk -> {
      int n = chunk.length();
      if (n > bytes.length - filled[0]) {
        read.tryFail(new S3Exception(S3Error.INCOMPLETE_BODY));
        return;
      }
      chunk.getBytes(0, n, bytes, filled[0]);
      filled[0] += n;
    });
    request.exceptionHandler(read::tryFail);
    request.endHandler(v -> {
      if (filled[0] == bytes.length) {
        read.tryComplete(bytes);
      } else {
        read.tryFail(new S3Exception(S3Error.INCOMPLETE_BODY));
      }
    });
    request.resume();
    return read.future();
  }

  /**
   * Writes the upload's content, within what the account may keep and if its conditions on the object it replaces
   * hold; 200 with its ETag (and checksum).
   */
  private Future<Void> store(RoutingContext ctx, Caller caller, Resource resource, Upload.Checked content,
      JsonObject metadata, JsonObject tags, Preconditions.Write conditions, String requestId) {
    return write(caller, resource, content, metadata, tags, conditions, requestId)
        .compose(v -> {
          HttpServerResponse response = ctx.response().putHeader("x-amz-request-id", requestId)
              .putHeader("ETag", "\"" + content.md5() + "\"");
          if (content.checksum() != null) {
            response.putHeader(Checksums.HEADER + content.checksum().getKey(), content.checksum().getValue())
                .putHeader("x-amz-checksum-type", Multipart.FULL_OBJECT);
          }
          return response.end();
        });
  }

  /** Writes the content at the resource, within what the account may keep and if its conditions hold. */
  private Future<Void> write(Caller caller, Resource resource, Upload.Checked content, JsonObject metadata,
      JsonObject tags, Preconditions.Write conditions, String requestId) {
    Buffer data = content.buffer();
    return store.put(caller.account().id(), resource.bucket(), resource.key(), "s3-put-" + requestId, data,
        content.checksum(), metadata, tags, maxStoredBytes, Instant.now(),
        Preconditions.Write.check(conditions, resource.key()))
        .compose(used -> used < 0 ? Future.succeededFuture()
            // not S3's (a bucket has no such limit): the nearest of its codes, which no client retries
            : Future.failedFuture(new S3Exception(S3Error.ENTITY_TOO_LARGE, "The object (" + data.length()
                + " bytes) would take the account past what it may keep (" + maxStoredBytes + " bytes, " + used
                + " in use): delete objects first.").with("ProposedSize", Long.toString(data.length()))));
  }

  /**
   * POST Object ({@code POST /s3/{bucket}}, an HTML form: {@link PostObject}): the form read whole within the budget
   * of S3 bytes in memory (it carries its own credentials, so no key is known before it is read), its policy's
   * signature checked ({@code x-amz-algorithm} AWS4-HMAC-SHA256 with {@code x-amz-credential}, {@code x-amz-date} and
   * {@code x-amz-signature}; without a policy, anonymous: AccessDenied), its conditions met, then its file written at
   * its key with the form's metadata ({@code Content-Type}, {@code x-amz-meta-*}...), tags ({@code tagging}) and
   * {@code acl} (the owner's only, as a PUT's): 204 with the ETag and Location, or as {@code success_action_status}
   * asks, 200 or 201 with S3's {@code PostResponse}; {@code success_action_redirect} a 303 to it, naming the bucket,
   * key and ETag.
   */
  private Future<Void> postObject(RoutingContext ctx, String bucket, String requestId) {
    HttpServerRequest request = ctx.request();
    request.pause();
    String contentType = request.getHeader("Content-Type");
    Upload upload = Upload.of(name -> name.equalsIgnoreCase("Content-Length") ? request.getHeader(name) : null,
        PostObject.MAX_FORM_BYTES, false);
    long held = upload.inMemory();
    if (!forms.take(held)) {
      throw new S3Exception(S3Error.SLOW_DOWN);
    }
    ctx.addEndHandler(ended -> forms.release(held));
    return readHeld(ctx, upload)
        .compose(bytes -> OffLoop.when(bytes.length, () -> PostObject.parse(bytes, contentType)))
        .compose(form -> {
          if (form.field("policy") == null) { // anonymous: a bucket here is never public
            return Future.failedFuture(new S3Exception(S3Error.ACCESS_DENIED));
          }
          for (String name : List.of("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")) {
            if (form.field(name) == null) {
              return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Bucket POST must contain a "
                  + "field named '" + name + "'.  If it is specified, please check the order of the fields.")
                  .with("ArgumentName", name));
            }
          }
          if (!form.field("x-amz-algorithm").equals(SigV4Verifier.ALGORITHM)) {
            return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Only "
                + SigV4Verifier.ALGORITHM + " is supported.").with("ArgumentName", "x-amz-algorithm"));
          }
          if (form.file().length > Upload.MAX_OBJECT_BYTES) {
            return Future.failedFuture(new S3Exception(S3Error.ENTITY_TOO_LARGE)
                .with("ProposedSize", Long.toString(form.file().length))
                .with("MaxSizeAllowed", Long.toString(Upload.MAX_OBJECT_BYTES)));
          }
          String key = PostObject.key(form);
          return auth.authenticateS3Post(request, form.field("x-amz-credential"), form.field("policy"),
                  form.field("x-amz-signature"), rejected -> refusal(rejected, true))
              .compose(caller -> {
                PostObject.check(form, bucket, Instant.now());
                String acl = form.field("acl");
                if (acl != null && !Acls.OWNER_ONLY.contains(acl.strip())) {
                  throw new S3Exception(S3Error.ACCESS_CONTROL_LIST_NOT_SUPPORTED);
                }
                JsonObject metadata = ObjectMetadata.of(PostObject.headers(form));
                String tagging = form.field("tagging");
                JsonObject tags = tagging == null ? null
                    : ObjectTags.ofDocument(tagging.getBytes(StandardCharsets.UTF_8));
                Resource resource = new Resource(bucket, key);
                return OffLoop.when(form.file().length, () -> Upload.Checked.of(form.file(), null))
                    .compose(content -> write(caller, resource, content, metadata, tags, null, requestId)
                        .compose(v -> posted(ctx, form, resource, content.md5(), requestId)));
              });
        });
  }

  /** POST Object's answer: as the form's {@code success_action_redirect} or {@code success_action_status} asks. */
  private static Future<Void> posted(RoutingContext ctx, PostObject.Form form, Resource resource, String md5,
      String requestId) {
    String etag = "\"" + md5 + "\"";
    String location = ctx.request().scheme() + "://" + ctx.request().authority() + PATH + "/"
        + S3Xml.urlEncode(resource.bucket()) + "/" + S3Xml.urlEncode(resource.key()).replace("%2F", "/");
    HttpServerResponse response = ctx.response().putHeader("x-amz-request-id", requestId).putHeader("ETag", etag)
        .putHeader("Location", location);
    String redirect = form.field("success_action_redirect") != null ? form.field("success_action_redirect")
        : form.field("redirect");
    if (redirect != null && (redirect.startsWith("http://") || redirect.startsWith("https://"))
        && ObjectMetadata.headerSafe(redirect)) {
      return response.setStatusCode(303).putHeader("Location", redirect + (redirect.contains("?") ? "&" : "?")
          + "bucket=" + S3Xml.urlEncode(resource.bucket()) + "&key=" + S3Xml.urlEncode(resource.key())
          + "&etag=" + S3Xml.urlEncode(etag)).end();
    }
    String status = form.field("success_action_status");
    if ("201".equals(status)) {
      StringBuilder b = S3Xml.open("PostResponse");
      S3Xml.text(b, "Location", location);
      S3Xml.text(b, "Bucket", resource.bucket());
      S3Xml.text(b, "Key", resource.key());
      S3Xml.text(b, "ETag", etag);
      return response.setStatusCode(201).putHeader("Content-Type", "application/xml")
          .end(b.append("</PostResponse>").toString());
    }
    return response.setStatusCode("200".equals(status) ? 200 : 204).end();
  }

  private Future<Void> getObject(RoutingContext ctx, String account, Resource resource, Map<String, String> params,
      HttpServerResponse response) {
    for (String name : RESPONSE_OVERRIDES.keySet()) {
      String value = params.get(name);
      if (value != null && !ObjectMetadata.headerSafe(value)) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid value for " + name + ".")
            .with("ArgumentName", name));
      }
    }
    Asked asked = Asked.of(params, ctx.request());
    // the size first (HEAD's query: no content leaves the database), then the read budget, then the content: what is
    // refused for the budget is never read
    return found(account, resource, asked).compose(head -> {
      if (head.isEmpty()) {
        return missing(account, resource);
      }
      Future<Void> unmet = unmet(ctx.request(), head.get().object(), response);
      if (unmet != null) {
        return unmet;
      }
      Future<Void> noPart = partAnswered(asked, head.get(), response, true);
      if (noPart != null) {
        return noPart;
      }
      Optional<ByteRange> range = asked.range(head.get());
      long size = head.get().object().size();
      if (range.isPresent() && !range.get().satisfiable(size)) {
        return unsatisfiable(asked, head.get().object(), response);
      }
      long[] held = {range.isPresent() ? range.get().last(size) - range.get().first(size) + 1 : size};
      if (response.closed()) { // gone while its size was read: its end handlers have run, one added now never would
        return Future.succeededFuture();
      }
      if (!reads.take(held[0])) {
        return Future.failedFuture(new S3Exception(S3Error.SLOW_DOWN));
      }
      // given back once: when the content has gone to the socket (end's future: the response's end handlers run when it
      // is handed to Netty, which holds it while a client that does not read keeps it waiting), or when the request
      // ends without it (refused, or the connection closed before it was written)
      boolean[] writing = {false};
      boolean[] given = {false};
      Runnable giveBack = () -> {
        if (!given[0]) {
          given[0] = true;
          reads.release(held[0]);
        }
      };
      ctx.addEndHandler(v -> {
        if (!writing[0]) {
          giveBack.run();
        }
      });
      Future<Optional<StoredObject>> read = range.isPresent()
          ? store.get(account, resource.bucket(), resource.key(), range.get().from(), range.get().to())
          : store.get(account, resource.bucket(), resource.key());
      return read.compose(found -> {
        if (found.isEmpty()) {
          return missing(account, resource); // deleted meanwhile
        }
        StoredObject o = found.get();
        if (range.isPresent() && !range.get().satisfiable(o.size())) {
          return unsatisfiable(asked, o, response);
        }
        long length = o.content() == null ? 0 : o.content().length();
        if (response.closed()) { // gone meanwhile: what was taken is given back already
          return Future.succeededFuture();
        }
        if (length > held[0]) { // written again meanwhile, and larger: what it holds beyond counts too
          if (!reads.take(length - held[0])) {
            return Future.failedFuture(new S3Exception(S3Error.SLOW_DOWN));
          }
          held[0] = length;
        }
        objectHeaders(response, o);
        partsCount(asked, o, response);
        // a part's checksum is the part's that was found: with the bytes of that object only
        checksum(ctx.request(), range, asked, o, o.etag().equals(head.get().object().etag())
            ? head.get().checksum() : null, response);
        RESPONSE_OVERRIDES.forEach((name, header) -> {
          String value = params.get(name);
          if (value != null) {
            response.putHeader(header, value); // replaces the Content-Type set above
          }
        });
        range.ifPresent(r -> partial(response, r, o));
        writing[0] = true;
        return response.end(o.content()).onComplete(written -> giveBack.run());
      });
    });
  }

  /**
   * A GET's or HEAD's conditions ({@link Preconditions}) on the object found: null when they hold (or there are
   * none), else the answer: 304 with its ETag and time and no body, or 412 PreconditionFailed naming the condition.
   * Evaluated before its Range, as RFC 9110 orders them.
   */
  private static Future<Void> unmet(HttpServerRequest request, StoredObject o, HttpServerResponse response) {
    Preconditions.Verdict verdict = Preconditions.ofRead(request::getHeader).evaluate(o.etag(), o.lastModified());
    return switch (verdict.outcome()) {
      case PROCEED -> null;
      case NOT_MODIFIED -> response.setStatusCode(304).putHeader("ETag", "\"" + o.etag() + "\"")
          .putHeader("Last-Modified", HTTP_DATE.format(o.lastModified())).end();
      case FAILED -> Future.failedFuture(verdict.refusal());
    };
  }

  /**
   * HeadObject: GetObject's headers, a Range's or a part's (206 and its length, or 416) included, and no body; its
   * conditions as GetObject's.
   */
  private static Future<Void> headObject(HttpServerRequest request, Asked asked, PartOf found,
      HttpServerResponse response) {
    StoredObject o = found.object();
    Future<Void> unmet = unmet(request, o, response);
    if (unmet != null) {
      return unmet;
    }
    Future<Void> noPart = partAnswered(asked, found, response, false);
    if (noPart != null) {
      return noPart;
    }
    Optional<ByteRange> range = asked.range(found);
    if (range.isPresent() && !range.get().satisfiable(o.size())) {
      return unsatisfiable(asked, o, response);
    }
    partsCount(asked, o, objectHeaders(response, o).putHeader("Content-Length", Long.toString(o.size())));
    checksum(request, range, asked, o, found.checksum(), response);
    range.ifPresent(r -> partial(response, r, o)
        .putHeader("Content-Length", Long.toString(r.last(o.size()) - r.first(o.size()) + 1)));
    return response.end();
  }

  /**
   * What a GET or HEAD asks for of an object: all of it, the one {@code Range} it reads ({@link ByteRange#parse}), or
   * one of its parts ({@code partNumber}, 1 to 10,000: for an object completed from a multipart upload, that part as
   * it was put; for one put whole, part 1 is the object, as in S3). A part and a Range together are InvalidRequest, a
   * part number out of bounds InvalidArgument.
   *
   * @param part the part number, 0 for none
   */
  record Asked(int part, String rangeHeader) {
    static Asked of(Map<String, String> params, HttpServerRequest request) {
      String value = params.get("partNumber");
      String range = request.getHeader("Range");
      if (value == null) {
        return new Asked(0, range);
      }
      int part = value.length() > 5 || value.isEmpty() || !value.chars().allMatch(c -> c >= '0' && c <= '9') ? -1
          : Integer.parseInt(value);
      if (part < 1 || part > Multipart.MAX_PART_NUMBER) {
        throw new S3Exception(S3Error.INVALID_ARGUMENT, "Part number must be an integer between 1 and "
            + Multipart.MAX_PART_NUMBER + ", inclusive").with("ArgumentName", "partNumber")
            .with("ArgumentValue", value);
      }
      if (range != null) {
        throw new S3Exception(S3Error.INVALID_REQUEST, "Cannot specify both Range header and partNumber query "
            + "parameter");
      }
      return new Asked(part, null);
    }

    /** The bytes asked for of the object found: its Range's or its part's (empty for all of it). */
    Optional<ByteRange> range(PartOf found) {
      return part == 0 ? ByteRange.parse(rangeHeader)
          : Optional.of(new ByteRange(found.offset(), found.offset() + found.length() - 1));
    }
  }

  /** The object with where the part asked for is (without a part, where the whole object is). */
  private Future<Optional<PartOf>> found(String account, Resource resource, Asked asked) {
    return asked.part() > 0 ? store.part(account, resource.bucket(), resource.key(), asked.part())
        : store.head(account, resource.bucket(), resource.key())
            .map(o -> o.map(object -> new PartOf(object, 0, object.size(), true, null)));
  }

  /**
   * A part's answer when it holds no byte a range could name: null when there is one to read. 416 InvalidPartNumber
   * for a part the object does not have; an empty part (an empty object's part 1, or an upload's empty last part) is
   * a 200 of no bytes, with the object's ETag and its count of parts.
   */
  private static Future<Void> partAnswered(Asked asked, PartOf found, HttpServerResponse response, boolean get) {
    if (asked.part() == 0 || (found.exists() && found.length() > 0)) {
      return null;
    }
    if (!found.exists()) {
      return Future.failedFuture(noSuchPart(asked, found.object()));
    }
    partsCount(asked, found.object(), objectHeaders(response, found.object())).putHeader("Content-Length", "0");
    return get ? response.end(Buffer.buffer()) : response.end();
  }

  /**
   * The object's checksum, as it was written ({@code x-amz-checksum-<algorithm>} and {@code x-amz-checksum-type}), for
   * a client that asks ({@code x-amz-checksum-mode: ENABLED}: the SDKs do, and check what they read against it) when
   * the whole object is answered: as S3, none for a range. For a part of an object completed from parts, the part's
   * own ({@code partChecksum}, null for none), with the object's type.
   */
  private static void checksum(HttpServerRequest request, Optional<ByteRange> range, Asked asked, StoredObject o,
      String partChecksum, HttpServerResponse response) {
    if (o.checksum() == null || !"ENABLED".equalsIgnoreCase(request.getHeader("x-amz-checksum-mode"))) {
      return;
    }
    String value;
    if (asked.part() > 0 && o.parts() > 0) {
      value = partChecksum;
    } else {
      // part 1 of an object put whole is all of it (unless it was written again, larger, while it was read)
      boolean whole = asked.part() == 0 ? range.isEmpty() : range.isPresent()
          && range.get().first(o.size()) == 0 && range.get().last(o.size()) == o.size() - 1;
      value = whole ? o.checksum().getValue() : null;
    }
    if (value != null) {
      response.putHeader(Checksums.HEADER + o.checksum().getKey(), value).putHeader("x-amz-checksum-type",
          o.checksum().getValue().indexOf('-') >= 0 ? Multipart.COMPOSITE : Multipart.FULL_OBJECT);
    }
  }

  /** A part's answer names how many the object has ({@code x-amz-mp-parts-count}), as S3's does for a multipart one. */
  private static HttpServerResponse partsCount(Asked asked, StoredObject o, HttpServerResponse response) {
    return asked.part() > 0 && o.parts() > 0
        ? response.putHeader("x-amz-mp-parts-count", Integer.toString(o.parts())) : response;
  }

  /** 206 and the range's Content-Range. */
  private static HttpServerResponse partial(HttpServerResponse response, ByteRange r, StoredObject o) {
    return response.setStatusCode(206).putHeader("Content-Range",
        "bytes " + r.first(o.size()) + "-" + r.last(o.size()) + "/" + o.size());
  }

  /**
   * 416 InvalidRange, with the object's size in Content-Range (RFC 9110 15.5.17); for a part (of an object written
   * again, smaller, while it was read), 416 InvalidPartNumber.
   */
  private static Future<Void> unsatisfiable(Asked asked, StoredObject o, HttpServerResponse response) {
    response.putHeader("Content-Range", "bytes */" + o.size());
    return Future.failedFuture(asked.part() > 0 ? noSuchPart(asked, o)
        : new S3Exception(S3Error.INVALID_RANGE).with("RangeRequested", asked.rangeHeader())
            .with("ActualObjectSize", Long.toString(o.size())));
  }

  private static S3Exception noSuchPart(Asked asked, StoredObject o) {
    return new S3Exception(S3Error.INVALID_PART_NUMBER).with("PartNumberRequested", Integer.toString(asked.part()))
        .with("ActualPartCount", Integer.toString(Math.max(o.parts(), 1)));
  }

  /**
   * The object's ETag, time, metadata ({@link ObjectMetadata}: its Content-Type, {@code x-amz-meta-*}...) and how many
   * tags it has.
   */
  private static HttpServerResponse objectHeaders(HttpServerResponse response, StoredObject o) {
    if (o.tagCount() > 0) {
      response.putHeader("x-amz-tagging-count", Integer.toString(o.tagCount()));
    }
    return ObjectMetadata.write(response, o.metadata())
        .putHeader("ETag", "\"" + o.etag() + "\"")
        .putHeader("Last-Modified", HTTP_DATE.format(o.lastModified()))
        .putHeader("Accept-Ranges", "bytes");
  }

  /**
   * ListObjectsV2, or ListObjects (v1: {@code list-type} absent), which older tools still send (rclone's default for
   * an S3 it does not know, boto3's {@code list_objects}): the same page, from after its {@code marker} (past a common
   * prefix's keys when the marker is one), the owner on every key, and with a delimiter the {@code NextMarker} to go on
   * from (without one, a client goes on from the page's last key, as S3 answers it).
   */
  private Future<Void> listObjects(Caller caller, String bucket, Map<String, String> params,
      HttpServerResponse response, boolean v1) {
    String prefix = params.get("prefix") == null ? "" : params.get("prefix");
    String delimiter = params.get("delimiter");
    String token = v1 ? null : params.get("continuation-token");
    String startAfter = v1 ? null : params.get("start-after");
    String marker = v1 ? (params.get("marker") == null ? "" : params.get("marker")) : null;
    String encoding = params.get("encoding-type");
    for (String value : new String[] {prefix, delimiter, token, startAfter, marker}) {
      if (value != null && value.indexOf('\u0000') >= 0) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "A parameter holds a NUL character."));
      }
    }
    if (encoding != null && !encoding.equals("url")) {
      return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid Encoding Method specified in "
          + "Request").with("ArgumentName", "encoding-type").with("ArgumentValue", encoding));
    }
    int maxKeys = MAX_KEYS;
    if (params.get("max-keys") != null) {
      try {
        maxKeys = Math.min(Integer.parseInt(params.get("max-keys")), MAX_KEYS);
      } catch (NumberFormatException e) {
        maxKeys = -1;
      }
      if (maxKeys < 0) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Provided max-keys not an integer or "
            + "within integer range").with("ArgumentName", "max-keys").with("ArgumentValue", params.get("max-keys")));
      }
    }
    String from;
    if (v1) {
      from = marker.isEmpty() ? "" : KeyListing.afterMarker(marker, prefix, delimiter);
    } else if (token != null) {
      from = KeyListing.fromToken(token);
      if (from == null) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT,
            "The continuation token provided is incorrect").with("ArgumentName", "continuation-token"));
      }
    } else {
      from = startAfter == null ? "" : KeyListing.startingAfter(startAfter);
    }
    String account = caller.account().id();
    KeyListing listing = new KeyListing(prefix, delimiter, maxKeys);
    Future<Void> read = maxKeys == 0 ? Future.succeededFuture()
        : readKeys(listing, account, bucket, from, prefix, prefix.isEmpty() ? null : KeyListing.after(prefix), 1);
    S3Xml.ListRequest request = new S3Xml.ListRequest(bucket, prefix, delimiter, maxKeys, token, startAfter,
        encoding != null, v1 || "true".equals(params.get("fetch-owner")) ? caller.account() : null, marker);
    return read
        .compose(v -> listing.page().isEmpty() ? store.bucketExists(account, bucket) : Future.succeededFuture(true))
        .compose(exists -> exists
            ? response.putHeader("Content-Type", "application/xml").end(S3Xml.listBucketResult(request, listing))
            : Future.failedFuture(noSuchBucket(bucket)));
  }

  /** What GetObjectAttributes may be asked for ({@code x-amz-object-attributes}). */
  static final Set<String> OBJECT_ATTRIBUTES = Set.of("ETag", "Checksum", "ObjectParts", "StorageClass",
      "ObjectSize");

  /**
   * GetObjectAttributes ({@code GET /s3/{bucket}/{key}?attributes}): of the attributes {@code x-amz-object-attributes}
   * names, the object's ETag, checksum (as written, with its type), size, storage class, and for one completed from a
   * multipart upload its count of parts and, when its upload had a checksum algorithm, its parts from
   * {@code x-amz-part-number-marker} on ({@code x-amz-max-parts}, 1,000 at most, the default), each with its size and
   * checksum, as S3 lists them. Read in one statement, without the content.
   */
  private Future<Void> objectAttributes(HttpServerRequest request, String account, Resource resource,
      HttpServerResponse response) {
    String names = request.getHeader("x-amz-object-attributes");
    if (names == null || names.isBlank()) {
      return Future.failedFuture(new S3Exception(S3Error.INVALID_REQUEST, "The x-amz-object-attributes header "
          + "specifying the attributes to be retrieved is either missing or empty"));
    }
    Set<String> asked = new java.util.HashSet<>();
    for (String name : names.split(",")) {
      if (!OBJECT_ATTRIBUTES.contains(name.strip())) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid attribute name specified.")
            .with("ArgumentName", "x-amz-object-attributes").with("ArgumentValue", name.strip()));
      }
      asked.add(name.strip());
    }
    int max = Math.min(attributeNumber(request, "x-amz-max-parts", Multipart.MAX_PARTS), Multipart.MAX_PARTS);
    int marker = attributeNumber(request, "x-amz-part-number-marker", 0);
    return store.parts(account, resource.bucket(), resource.key(), marker, max)
        .compose(found -> found.isEmpty() ? missing(account, resource) : response
            .putHeader("Last-Modified", HTTP_DATE.format(found.get().object().lastModified()))
            .putHeader("Content-Type", "application/xml")
            .end(S3Xml.objectAttributes(asked, found.get(), marker, max)));
  }

  /** A non-negative number of a GetObjectAttributes header, {@code absent} when there is none; InvalidArgument. */
  private static int attributeNumber(HttpServerRequest request, String header, int absent) {
    String value = request.getHeader(header);
    if (value == null) {
      return absent;
    }
    String v = value.strip();
    if (v.isEmpty() || v.length() > 9 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "Invalid value for " + header + ".").with("ArgumentName",
          header).with("ArgumentValue", value);
    }
    return Integer.parseInt(v);
  }

  /** The most buckets one ListBuckets page holds, and its default (S3's). */
  static final int MAX_BUCKETS_LISTED = 10_000;

  /**
   * ListBuckets ({@code GET /s3}: {@code aws s3 ls}, {@code rclone lsd}): the account's buckets (those it made, those
   * its receipt rules' S3 actions name, those holding its objects or uploads under way) by name, with
   * {@code max-buckets} (1 to 10,000, the default), {@code continuation-token} and {@code prefix}.
   * {@code bucket-region} selects nothing: every bucket answers in every region here.
   */
  private Future<Void> listBuckets(Caller caller, Map<String, String> params, HttpServerResponse response) {
    String max = params.get("max-buckets");
    int limit = MAX_BUCKETS_LISTED;
    if (max != null) {
      limit = max.isEmpty() || max.length() > 5 || !max.chars().allMatch(c -> c >= '0' && c <= '9') ? 0
          : Integer.parseInt(max);
      if (limit < 1 || limit > MAX_BUCKETS_LISTED) {
        return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "Argument max-buckets must be an "
            + "integer between 1 and " + MAX_BUCKETS_LISTED).with("ArgumentName", "max-buckets")
            .with("ArgumentValue", max));
      }
    }
    String token = params.get("continuation-token");
    String after = token == null ? "" : KeyListing.fromToken(token);
    if (after == null) {
      return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "The continuation token provided is "
          + "incorrect").with("ArgumentName", "continuation-token"));
    }
    String prefix = params.get("prefix");
    if (prefix != null && prefix.indexOf('\u0000') >= 0) {
      return Future.failedFuture(new S3Exception(S3Error.INVALID_ARGUMENT, "A parameter holds a NUL character."));
    }
    int page = limit;
    return store.buckets(caller.account().id(), after, prefix == null ? "" : prefix, page + 1).compose(buckets -> {
      boolean more = buckets.size() > page;
      List<ReceivedObjectStore.Bucket> shown = more ? buckets.subList(0, page) : buckets;
      String next = more ? KeyListing.token(shown.get(page - 1).name()) : null;
      return response.putHeader("Content-Type", "application/xml")
          .end(S3Xml.listAllMyBucketsResult(shown, caller.account(), next, prefix));
    });
  }

  /** Most queries one listing runs: past them the page ends early, with a continuation token. */
  static final int MAX_BATCHES = 16;

  /** Reads batches of keys into the listing until its page is complete, or {@link #MAX_BATCHES} were read. */
  private Future<Void> readKeys(KeyListing listing, String account, String bucket, String from, String prefix,
      String prefixEnd, int batches) {
    int limit = listing.wanted();
    return store.keys(account, bucket, from, prefix, prefixEnd, limit).compose(batch -> {
      String next = listing.accept(batch, limit);
      if (next != null && batches >= MAX_BATCHES) {
        listing.cutShort(next);
        return Future.succeededFuture();
      }
      return next == null ? Future.succeededFuture()
          : readKeys(listing, account, bucket, next, prefix, prefixEnd, batches + 1);
    });
  }

  /** NoSuchKey when the bucket exists, else NoSuchBucket. */
  private <T> Future<T> missing(String account, Resource resource) {
    return store.bucketExists(account, resource.bucket()).compose(exists -> Future.failedFuture(exists
        ? new S3Exception(S3Error.NO_SUCH_KEY).with("Key", resource.key()) : noSuchBucket(resource.bucket())));
  }

  private static S3Exception noSuchBucket(String bucket) {
    return new S3Exception(S3Error.NO_SUCH_BUCKET).with("BucketName", bucket);
  }

  /** A failed authentication as S3 words it. */
  static S3Exception refusal(SigV4Result.Rejected r, boolean presigned) {
    return switch (r.error()) {
      case MISSING_AUTHENTICATION_TOKEN -> new S3Exception(S3Error.ACCESS_DENIED);
      case INCOMPLETE_SIGNATURE -> new S3Exception(presigned
          ? S3Error.AUTHORIZATION_QUERY_PARAMETERS_ERROR : S3Error.AUTHORIZATION_HEADER_MALFORMED, r.message());
      case UNRECOGNIZED_CLIENT -> new S3Exception(S3Error.INVALID_ACCESS_KEY_ID);
      // a computed canonical request means the signature itself differs; otherwise the message says what is wrong
      case SIGNATURE_DOES_NOT_MATCH -> r.canonicalRequest() != null
          ? new S3Exception(S3Error.SIGNATURE_DOES_NOT_MATCH)
          : new S3Exception(S3Error.SIGNATURE_DOES_NOT_MATCH, r.message());
      case SIGNATURE_EXPIRED -> new S3Exception(S3Error.REQUEST_TIME_TOO_SKEWED, r.message());
      case REQUEST_EXPIRED -> new S3Exception(S3Error.ACCESS_DENIED, "Request has expired");
      case TOO_MANY_FAILURES -> new S3Exception(S3Error.SLOW_DOWN, r.message());
    };
  }

  private static void fail(RoutingContext ctx, Throwable failure, String requestId) {
    HttpServerResponse response = ctx.response();
    if (response.headWritten() || failure instanceof HttpClosedException) {
      response.reset(); // half an answer, or nobody left to answer
      return;
    }
    S3Exception e;
    if (failure instanceof S3Exception s3) {
      e = s3;
    } else {
      LOG.log(Level.SEVERE, "unexpected failure on " + ctx.request().method() + " " + ctx.request().path()
          + " (request id " + requestId + ")", failure);
      e = new S3Exception(S3Error.INTERNAL_ERROR);
    }
    Metrics.of(ctx.vertx()).refused("s3", e.error().code);
    response.setStatusCode(e.error().status).putHeader("x-amz-request-id", requestId);
    // a request refused before its body was read: the rest of the body is still coming on the connection, in front of
    // the client's next request. A small one is read and dropped, so that a client still writing it (most write the
    // whole body before they read an answer) gets the answer rather than a connection reset under its write; any
    // other ends the connection with the answer, as S3 does
    HttpServerRequest request = ctx.request();
    boolean unread = !request.isEnded() && request.version() != io.vertx.core.http.HttpVersion.HTTP_2
        && ctx.get(BODY_READ) == null;
    boolean drained = unread && drainable(request.getHeader("Content-Length"),
        request.getHeader("Transfer-Encoding"), ApiVerticle.awaitsContinue(request));
    if (unread && !drained) {
      response.putHeader("Connection", "close");
    }
    Future<Void> ended = request.method() == HttpMethod.HEAD ? response.end()
        : response.putHeader("Content-Type", "application/xml").end(S3Xml.error(e, requestId));
    if (drained) {
      long timer = ctx.vertx().setTimer(DRAIN_MILLIS, t -> request.connection().close());
      request.handler(dropped -> { }).endHandler(v -> ctx.vertx().cancelTimer(timer)).resume();
    } else if (unread) {
      ended.onComplete(v -> request.connection().close());
    }
  }

  /**
   * Whether the unread body of a refused request is read and dropped rather than the connection closed: a body of
   * known length up to {@link #MAX_DRAINED_BYTES}, from a client that did not wait for a 100 Continue (one that waits
   * sends nothing after a refusal: RFC 9110 10.1.1).
   */
  static boolean drainable(String contentLength, String transferEncoding, boolean awaitsContinue) {
    if (awaitsContinue || transferEncoding != null) {
      return false;
    }
    long length = contentLength == null ? 0 : Upload.length(contentLength);
    return length >= 0 && length <= MAX_DRAINED_BYTES;
  }

  /** Percent-decodes a path segment to UTF-8 text; an escape or byte sequence that is not one is InvalidURI. */
  static String decode(String raw) {
    if (raw.indexOf('%') < 0 && raw.chars().allMatch(c -> c > 0 && c < 0x80)) {
      return raw;
    }
    ByteBuffer bytes = ByteBuffer.allocate(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%') {
        int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
        int lo = hi < 0 ? -1 : Character.digit(raw.charAt(i + 2), 16);
        if (lo < 0) {
          throw new S3Exception(S3Error.INVALID_URI);
        }
        bytes.put((byte) (hi << 4 | lo));
        i += 2;
      } else if (c < 0x100) {
        bytes.put((byte) c); // a raw byte of the request line (Netty reads it as ISO-8859-1)
      } else {
        throw new S3Exception(S3Error.INVALID_URI);
      }
    }
    bytes.flip();
    try {
      String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
      if (s.indexOf('\u0000') >= 0) {
        throw new S3Exception(S3Error.INVALID_URI); // PostgreSQL text cannot hold it, so no key has it
      }
      return s;
    } catch (CharacterCodingException e) {
      throw new S3Exception(S3Error.INVALID_URI);
    }
  }

  /** 16 upper-case hex digits, like S3's request ids. */
  private static String requestId() {
    return String.format("%016X", ThreadLocalRandom.current().nextLong());
  }
}
