package io.mailgate.api;

import io.mailgate.OffLoop;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.sigv4.ChunkSignatures;
import io.mailgate.api.sigv4.SesApi;
import io.mailgate.api.sigv4.SigV4Request;
import io.mailgate.api.sigv4.SigV4Result;
import io.mailgate.api.sigv4.SigV4Verifier;
import io.mailgate.identity.AccessKey;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.send.Caller;
import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.http.HttpServerRequest;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Authenticates an SES request with AWS Signature Version 4, exactly as the SDKs and the CLI sign
 * it (header or presigned query): the claimed access key selects the account, its secret (cached,
 * decrypted) checks the signature. A failure is the SES error the client expects. The same keys
 * sign requests to the S3 API of received mail ({@link #authenticateS3}), scoped to service
 * {@code s3} and checked by S3's rules.
 */
public final class RequestAuthenticator {
  private static final Logger LOG = Logger.getLogger(RequestAuthenticator.class.getName());
  private static final byte[] EMPTY = new byte[0];

  private final AccountDirectory directory;
  /** One verifier per API, so its derived signing keys stay cached across requests. */
  private final SigV4Verifier verifier;
  private final SigV4Verifier s3Verifier;
  private final SigV4Verifier acmVerifier;
  /**
   * The key being checked: {@link SigV4Verifier#verify} asks for the secret synchronously, after the
   * key was loaded asynchronously. Safe because an instance is used from one event loop only.
   */
  private AccessKey checking;
  private final ClientAddress clients;
  private final LoginFailures logins;

  public RequestAuthenticator(AccountDirectory directory, Clock clock, ClientAddress clients, LoginFailures logins) {
    this.directory = directory;
    this.clients = clients;
    this.logins = logins;
    Function<String, Optional<String>> secrets = id -> checking != null && checking.accessKeyId().equals(id)
        ? Optional.of(checking.secret()) : Optional.empty();
    this.verifier = new SigV4Verifier(secrets, clock);
    this.s3Verifier = SigV4Verifier.forS3(secrets, clock);
    this.acmVerifier = new SigV4Verifier(secrets, clock, SigV4Verifier.DEFAULT_MAX_CLOCK_SKEW, java.util.Set.of("acm"));
  }

  public Future<Caller> authenticate(HttpServerRequest request, Buffer body) {
    return authenticate(request, body, SesApi.V2_REST_JSON);
  }

  /** As {@link #authenticate(HttpServerRequest, Buffer)}, with failures worded as {@code api} words them. */
  public Future<Caller> authenticate(HttpServerRequest request, Buffer body, SesApi api) {
    return authenticate(request, body, verifier, rejected -> reject(rejected, api)).map(Authenticated::caller);
  }

  /**
   * Authenticates a request to the S3 API (signing name {@code s3}), whose body is not read: it is verified as an
   * empty one. A refusal fails the future with what {@code refusal} makes of the verifier's verdict, so that the
   * S3 API words it as S3 does.
   */
  public Future<Caller> authenticateS3(HttpServerRequest request,
      Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    return authenticate(request, null, s3Verifier, refusal).map(Authenticated::caller);
  }

  /**
   * The access key a request names (its Authorization header's Credential, or a presigned URL's X-Amz-Credential),
   * nothing checked: the S3 API's CORS rules are chosen by it before the request is authenticated.
   */
  public static Optional<String> claimedKey(HttpServerRequest request) {
    return SigV4Verifier.claimedAccessKeyId(new SigV4Request(request.method().name(), request.path(), request.query(),
        name -> headers(request, name), EMPTY));
  }

  /**
   * Authenticates an HTML form's upload to the S3 API (S3's POST policy: the form's {@code x-amz-credential},
   * {@code policy} and {@code x-amz-signature} fields, read from its body), refused as {@code refusal} says; the key
   * looked up as any request's is ({@link #lookUp}: a made-up one counts against its client's address).
   */
  public Future<Caller> authenticateS3Post(HttpServerRequest request, String credential, String policy,
      String signature, Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    int slash = credential == null ? -1 : credential.indexOf('/');
    if (slash <= 0) {
      return Future.failedFuture(refusal.apply((SigV4Result.Rejected) s3Verifier.verifyPolicy(credential, policy,
          signature)));
    }
    String keyId = credential.substring(0, slash);
    return lookUp(request, keyId, refusal).compose(found -> {
      Optional<AccessKey> key = found.filter(AccessKey::enabled);
      SigV4Result result;
      checking = key.orElse(null);
      try {
        result = s3Verifier.verifyPolicy(credential, policy, signature);
      } finally {
        checking = null;
      }
      if (result instanceof SigV4Result.Rejected rejected) {
        return Future.failedFuture(refusal.apply(rejected));
      }
      AccessKey k = key.get();
      return Future.succeededFuture(new Caller(k.account(), k.accessKeyId(), clients.of(request)));
    });
  }

  /**
   * Authenticates a request to the ACM-compatible endpoint (signing name {@code acm}), its body read; refusals are
   * worded as the SES v2 API words them (the same JSON error shape and types).
   */
  public Future<Caller> authenticateAcm(HttpServerRequest request, Buffer body) {
    return authenticate(request, body, acmVerifier, rejected -> reject(rejected, SesApi.V2_REST_JSON))
        .map(Authenticated::caller);
  }

  /** Who made an upload, and the signatures its chunks must have (null unless it streams signed chunks). */
  public record Authenticated(Caller caller, ChunkSignatures chunks) {}

  /**
   * Authenticates an upload to the S3 API whose body was read and hashed ({@code bodySha256}, the SHA-256 of the
   * bytes received in lower-case hex), refused as {@code refusal} says.
   */
  public Future<Authenticated> authenticateS3Upload(HttpServerRequest request, String bodySha256,
      Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    SigV4Request sigRequest = new SigV4Request(request.method().name(), request.path(), request.query(),
        name -> headers(request, name), null, bodySha256);
    Optional<String> keyId = SigV4Verifier.claimedAccessKeyId(sigRequest);
    if (keyId.isEmpty()) {
      return Future.failedFuture(refusal.apply((SigV4Result.Rejected) s3Verifier.verify(sigRequest)));
    }
    return lookUp(request, keyId.get(), refusal).compose(found -> verify(request, sigRequest, keyId.get(),
        found.filter(AccessKey::enabled), s3Verifier, refusal));
  }

  /**
   * What can be checked of a request before its body is read: that it names an access key that exists and is enabled
   * (a cached lookup), else the refusal its full check would give. Asked before a large body is admitted, so that
   * requests with a made-up Authorization header cannot hold the node's body budget while they trickle in.
   */
  public Future<Void> keyBeforeBody(HttpServerRequest request, SesApi api) {
    return keyBeforeBody(request, verifier, rejected -> reject(rejected, api));
  }

  /** {@link #keyBeforeBody(HttpServerRequest, SesApi)} for an upload to the S3 API, refused as {@code refusal} says. */
  public Future<Void> keyBeforeBodyS3(HttpServerRequest request,
      Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    return keyBeforeBody(request, s3Verifier, refusal);
  }

  private Future<Void> keyBeforeBody(HttpServerRequest request, SigV4Verifier verifier,
      Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    SigV4Request sigRequest = new SigV4Request(request.method().name(), request.path(), request.query(),
        name -> headers(request, name), EMPTY);
    Optional<String> keyId = SigV4Verifier.claimedAccessKeyId(sigRequest);
    if (keyId.isEmpty()) {
      return Future.failedFuture(refusal.apply((SigV4Result.Rejected) verifier.verify(sigRequest)));
    }
    return lookUp(request, keyId.get(), refusal)
        .compose(found -> found.filter(AccessKey::enabled).isPresent()
        ? Future.<Void>succeededFuture()
        : Future.failedFuture(refusal.apply(new SigV4Result.Rejected(
            io.mailgate.api.sigv4.SigV4Error.UNRECOGNIZED_CLIENT, SigV4Verifier.INVALID_TOKEN_MESSAGE))));
  }

  private Future<Authenticated> authenticate(HttpServerRequest request, Buffer body, SigV4Verifier verifier,
      Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    boolean large = body != null && body.length() > OffLoop.BYTES;
    SigV4Request sigRequest = new SigV4Request(request.method().name(), request.path(), request.query(),
        name -> headers(request, name), body == null ? EMPTY : large ? null : body.getBytes());
    Optional<String> keyId = SigV4Verifier.claimedAccessKeyId(sigRequest);
    if (keyId.isEmpty()) {
      // let the verifier say what is wrong: no authentication at all, or a malformed one
      return Future.failedFuture(refusal.apply((SigV4Result.Rejected) verifier.verify(sigRequest)));
    }
    return lookUp(request, keyId.get(), refusal).compose(found -> {
      Optional<AccessKey> key = found.filter(AccessKey::enabled);
      if (!large || key.isEmpty()) { // an unknown or disabled key is refused before the body matters
        return verify(request, sigRequest, keyId.get(), key, verifier, refusal);
      }
      // hashing 54 MB takes the event loop 30-60 ms: a worker does it, from the buffer's own memory, and only for a
      // request whose key exists
      ByteBuf b = ((BufferInternal) body).getByteBuf();
      return OffLoop.when(body.length(), () -> SigV4Verifier.bodySha256(b.nioBuffers()))
          .compose(hash -> verify(request, new SigV4Request(sigRequest.method(), sigRequest.rawPath(),
              sigRequest.rawQuery(), sigRequest.headers(), null, hash), keyId.get(), key, verifier, refusal));
    });
  }

  /**
   * The key a request names, unless its client's address named too many keys that do not exist lately and this lookup
   * would cost a query ({@link LoginFailures}): each made-up key id would be a query on the database the sends share.
   * A key that does not exist or is disabled counts as a failure; a wrong signature with a key that exists does not
   * (it costs no query, and guessing a secret is hopeless).
   */
  private Future<Optional<AccessKey>> lookUp(HttpServerRequest request, String keyId,
      Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    LoginFailures.Attempt attempt = logins.begin(clients.of(request), keyId);
    if (attempt == null) {
      return Future.failedFuture(refusal.apply(new SigV4Result.Rejected(
          io.mailgate.api.sigv4.SigV4Error.TOO_MANY_FAILURES,
          "Too many requests with unknown access keys from this address; retry later.")));
    }
    return directory.byAccessKey(keyId).andThen(ar -> {
      if (ar.succeeded()) {
        attempt.end(ar.result().isPresent(), ar.result().filter(AccessKey::enabled).isEmpty());
      } else {
        attempt.end(false, false); // not checked: no one's failure
      }
    });
  }

  private Future<Authenticated> verify(HttpServerRequest request, SigV4Request sigRequest, String keyId,
      Optional<AccessKey> key, SigV4Verifier verifier, Function<SigV4Result.Rejected, ? extends Throwable> refusal) {
    SigV4Result result;
    checking = key.orElse(null);
    try {
      result = verifier.verify(sigRequest);
    } finally {
      checking = null;
    }
    if (result instanceof SigV4Result.Rejected rejected) {
      if (rejected.canonicalRequest() != null) {
        LOG.fine(() -> "signature mismatch for " + keyId + "; our canonical request:\n" + rejected.canonicalRequest());
      }
      return Future.failedFuture(refusal.apply(rejected));
    }
    AccessKey k = key.get();
    return Future.succeededFuture(new Authenticated(new Caller(k.account(), k.accessKeyId(), clients.of(request)),
        ((SigV4Result.Verified) result).chunks()));
  }

  /** HTTP/2 carries the host in the :authority pseudo-header, which Vert.x keeps out of headers(). */
  private static java.util.List<String> headers(HttpServerRequest request, String name) {
    java.util.List<String> values = request.headers().getAll(name);
    if (values.isEmpty() && name.equalsIgnoreCase("host") && request.authority() != null) {
      return java.util.List.of(request.authority().toString());
    }
    return values;
  }

  private static SesException reject(SigV4Result.Rejected r, SesApi api) {
    SesError error = switch (r.error()) {
      case MISSING_AUTHENTICATION_TOKEN -> SesError.MISSING_AUTHENTICATION_TOKEN;
      case INCOMPLETE_SIGNATURE -> SesError.INCOMPLETE_SIGNATURE;
      case UNRECOGNIZED_CLIENT -> SesError.UNRECOGNIZED_CLIENT;
      case SIGNATURE_DOES_NOT_MATCH, SIGNATURE_EXPIRED -> SesError.SIGNATURE_DOES_NOT_MATCH;
      case REQUEST_EXPIRED -> SesError.REQUEST_EXPIRED;
      case TOO_MANY_FAILURES -> SesError.TOO_MANY_REQUESTS;
    };
    return new SesException(error, r.message(api));
  }
}
