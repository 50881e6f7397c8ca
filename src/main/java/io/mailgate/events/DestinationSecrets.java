package io.mailgate.events;

import io.mailgate.identity.Accounts;
import io.vertx.core.Future;
import java.util.function.UnaryOperator;

/**
 * The secrets of an account's destinations as their receivers configure them ({@link WebhookSigner#secret(String,
 * int, String)}), of the generation that signs now: the console shows each beside its URL, so the account's people can
 * give each receiver its own without asking the operator.
 */
public final class DestinationSecrets {
  private final Accounts accounts;
  private final WebhookSigner signer;

  public DestinationSecrets(Accounts accounts, WebhookSigner signer) {
    this.accounts = accounts;
    this.signer = signer;
  }

  /** The account's secret of each destination URL given, at the generation its posts are signed with now. */
  public Future<UnaryOperator<String>> of(String accountId) {
    return accounts.webhookSecret(accountId).map(s -> url -> signer.secret(accountId, s.generation(), url));
  }
}
