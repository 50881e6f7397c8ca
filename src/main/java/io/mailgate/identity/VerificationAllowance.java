package io.mailgate.identity;

import io.vertx.core.Future;

/**
 * Whether an account may have one more verification email sent now: they go out from the operator's own sender, to
 * addresses the account names, and count toward no tenant's sending limits. Fails with an SES error (429
 * TooManyRequests) when it may not; a refused request creates nothing.
 */
public interface VerificationAllowance {
  Future<Void> take(String accountId);

  /**
   * Gives back what {@link #take} counted when no email went after all (one went to the address within the cooldown,
   * or it could not be sent, or the identity was not created): the limit is of emails sent, and an account that asks
   * again and again for one pending address must not spend its day's allowance on emails never sent.
   */
  default void giveBack(String accountId) {}

  /** No limit (for tests that are not about it). */
  VerificationAllowance UNLIMITED = accountId -> Future.succeededFuture();
}
