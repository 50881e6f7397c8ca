package io.mailgate.identity;

import io.vertx.core.Future;

/** Sends the message that asks the owner of an address to verify it (through Mailgate itself). */
@FunctionalInterface
public interface VerificationMailer {
  Future<Void> send(String accountId, String address, String link);
}
