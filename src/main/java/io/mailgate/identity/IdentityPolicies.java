package io.mailgate.identity;

import io.mailgate.SesException;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Sending authorization policies: what their owner manages (SES v2's Create/Update/Delete/GetEmailIdentityPolicies,
 * v1's Put/Get/List/DeleteIdentityPolicy, each checked as SES checks it), and whether an identity's policies let
 * another account send from it. Policies are read from PostgreSQL at each such call, so a revoked one stops the next
 * send at once (a bulk send's entries share one read, {@link Reads}); a send that names no identity ARN never comes
 * here.
 */
public final class IdentityPolicies {
  private static final Logger LOG = Logger.getLogger(IdentityPolicies.class.getName());

  private final IdentityPolicyStore store;
  private final String region;
  private final Clock clock;

  public IdentityPolicies(IdentityPolicyStore store, String region, Clock clock) {
    this.store = store;
    this.region = region;
    this.clock = clock;
  }

  /**
   * The policy reads of one call: a bulk send's entries ask about the same identities, and read each identity's
   * policies (and its owner's sandbox status) once between them rather than once each.
   */
  public static final class Reads {
    private final Map<IdentityArn, Future<Optional<Map<String, String>>>> read = new ConcurrentHashMap<>(2);
    private final Map<String, Future<Boolean>> ownersInProduction = new ConcurrentHashMap<>(1);

    /** Whether the identity owner {@code account} has production access, read ({@code read}) once for the call. */
    public Future<Boolean> ownerInProduction(String account, Function<String, Future<Boolean>> read) {
      return ownersInProduction.computeIfAbsent(account, read);
    }
  }

  public String region() {
    return region;
  }

  /**
   * Checks the name, then writes the policy (see {@link IdentityPolicyStore#write}), its document checked once the
   * identity is known to be the caller's (another account's is NotFound, whatever its policy says).
   */
  public Future<Void> write(String accountId, String rawIdentity, String name, String policy,
      IdentityPolicyStore.Write how) {
    String identity = existingName(rawIdentity);
    checkName(name);
    String resource = new IdentityArn(accountId, identity).format(region);
    return store.write(accountId, identity, name, policy, how, () -> IdentityPolicy.parse(policy, resource));
  }

  /** The identity's policies by name; NotFound when the account has no such identity. */
  public Future<Map<String, String>> policies(String accountId, String rawIdentity) {
    String identity = existingName(rawIdentity);
    return store.policies(accountId, identity).compose(found -> found.isPresent()
        ? Future.succeededFuture(found.get()) : Future.failedFuture(IdentityPolicyStore.notFound(identity)));
  }

  public Future<Void> delete(String accountId, String rawIdentity, String name) {
    checkName(name);
    return store.delete(accountId, existingName(rawIdentity), name);
  }

  /**
   * The identity's name as stored; a name that is no identity's (not an address or a domain) is NotFound, as SES
   * answers for an identity the account does not have, and as the identity operations themselves do.
   */
  private static String existingName(String rawIdentity) {
    try {
      return IdentityNames.normalize(rawIdentity);
    } catch (io.mailgate.SesException e) {
      throw IdentityPolicyStore.notFound(rawIdentity);
    }
  }

  /**
   * Whether the policies of the identity {@code arn} names, read once for the call ({@code reads}), let every one of
   * the {@code requests} of a send (given the time) through. A stored policy that no longer reads (the node's region
   * changed since) makes the answer no.
   */
  public Future<Boolean> allows(IdentityArn arn, Reads reads,
      Function<Instant, List<IdentityPolicy.Request>> requests) {
    String resource = arn.format(region);
    return reads.read.computeIfAbsent(arn, a -> store.policies(a.account(), a.identity())).map(found -> {
      List<IdentityPolicy> parsed = new ArrayList<>();
      for (Map.Entry<String, String> p : found.orElse(Map.of()).entrySet()) {
        try {
          parsed.add(IdentityPolicy.parseStored(p.getValue(), resource));
        } catch (SesException e) {
          LOG.log(Level.WARNING, "policy " + p.getKey() + " of " + resource + " cannot be read; sends under it are "
              + "refused: " + e.getMessage());
          return false;
        }
      }
      for (IdentityPolicy.Request r : requests.apply(clock.instant())) {
        if (!IdentityPolicy.allows(parsed, r)) {
          return false;
        }
      }
      return true;
    });
  }

  /** SES's rule for policy names: 1 to 64 ASCII letters, digits, dashes and underscores. */
  static void checkName(String name) {
    if (name == null || name.isEmpty() || name.length() > 64) {
      throw SesException.badRequest("PolicyName must be 1 to 64 characters long.");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
        throw SesException.badRequest("PolicyName may contain only ASCII letters, digits, dashes and underscores.");
      }
    }
  }
}
