package io.mailgate.identity;

import io.vertx.core.Future;

/**
 * Whether an account may have one more verification email sent now: they go out from the operator's own sender, to
 * addresses the account names, and count toward no tenant's sending limits. Fails with an SES error (429
 * TooManyRequests) when it may not; a refused request creates nothing.
 */
@FunctionalInterface
public interface VerificationAllowance {
  Future<Void> take(String accountId);

  /** No limit (for tests that are not about it). */
  VerificationAllowance UNLIMITED = accountId -> Future.succeededFuture();
}
