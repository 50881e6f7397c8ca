package io.mailgate.api;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.identity.AccessKey;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;

/**
 * Finds the caller of an SES request from its SigV4 credential (the {@code Authorization} header
 * or presigned {@code X-Amz-Credential}). The access key id selects the account.
 *
 * <p>The signature itself is not verified yet: that is the next step of this class (see the
 * identity issue), and the only thing that must change for it.
 */
public final class RequestAuthenticator {
  private final AccountDirectory directory;

  public RequestAuthenticator(AccountDirectory directory) {
    this.directory = directory;
  }

  public Future<Caller> authenticate(HttpServerRequest request) {
    String keyId;
    try {
      keyId = accessKeyId(request);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    String sourceIp = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    return directory.byAccessKey(keyId).compose(found -> {
      if (found.isEmpty() || !found.get().enabled()) {
        return Future.failedFuture(new SesException(SesError.UNRECOGNIZED_CLIENT,
            "The security token included in the request is invalid."));
      }
      AccessKey key = found.get();
      return Future.succeededFuture(new Caller(key.account(), key.accessKeyId(), sourceIp));
    });
  }

  static String accessKeyId(HttpServerRequest request) {
    String auth = request.getHeader("Authorization");
    String credential;
    if (auth != null) {
      if (!auth.startsWith("AWS4-HMAC-SHA256 ")) {
        throw new SesException(SesError.INCOMPLETE_SIGNATURE,
            "Authorization header must use the AWS4-HMAC-SHA256 algorithm.");
      }
      int c = auth.indexOf("Credential=");
      if (c < 0) {
        throw new SesException(SesError.INCOMPLETE_SIGNATURE,
            "Authorization header requires 'Credential' parameter. Authorization=" + auth);
      }
      int end = auth.indexOf(',', c);
      credential = auth.substring(c + "Credential=".length(), end < 0 ? auth.length() : end).strip();
    } else {
      credential = request.getParam("X-Amz-Credential");
      if (credential == null) {
        throw new SesException(SesError.MISSING_AUTHENTICATION_TOKEN, "Missing Authentication Token");
      }
    }
    int slash = credential.indexOf('/');
    if (slash <= 0) {
      throw new SesException(SesError.INCOMPLETE_SIGNATURE,
          "Credential should be scoped to a valid region and service: " + credential);
    }
    return credential.substring(0, slash);
  }
}
