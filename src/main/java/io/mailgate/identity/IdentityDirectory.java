package io.mailgate.identity;

import io.mailgate.send.dkim.DkimKey;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The send path's view of identities: is this sender or recipient verified, which DKIM key signs
 * for this domain, which MAIL FROM domain applies. Answers are cached per verticle instance for a
 * few seconds (including "no such identity"), and DKIM keys are kept decrypted, so a send costs no
 * database round trip and no key parsing once warm.
 */
public final class IdentityDirectory {
  private static final Logger LOG = Logger.getLogger(IdentityDirectory.class.getName());

  /** An identity and, for a domain that signs, its ready signing key. */
  public record Facts(Identity identity, DkimKey signingKey) {
    public boolean verified() {
      return identity.verifiedForSending();
    }
  }

  private record Cached(Facts facts, long expiresAt) {}

  private final IdentityStore store;
  private final SecretBox secrets;
  private final Clock clock;
  private final long ttlMillis;
  private final Map<String, Cached> cache = new HashMap<>();

  public IdentityDirectory(IdentityStore store, SecretBox secrets, Clock clock, long ttlMillis) {
    this.ttlMillis = ttlMillis;
    this.store = store;
    this.secrets = secrets;
    this.clock = clock;
  }

  /** Facts for each of {@code names} the account has; names it does not have are absent. */
  public Future<Map<String, Facts>> lookup(String accountId, Collection<String> names) {
    long now = clock.millis();
    Map<String, Facts> found = new HashMap<>();
    Set<String> missing = new LinkedHashSet<>(); // each once, in the order asked (a set: a send may ask many)
    for (String name : names) {
      Cached c = cache.get(accountId + "\n" + name);
      if (c != null && c.expiresAt() > now) {
        if (c.facts() != null) {
          found.put(name, c.facts());
        }
      } else {
        missing.add(name);
      }
    }
    if (missing.isEmpty()) {
      return Future.succeededFuture(found);
    }
    return store.findAll(accountId, new ArrayList<>(missing)).map(rows -> {
      if (cache.size() > 50_000) {
        cache.clear();
      }
      long expires = clock.millis() + ttlMillis;
      Map<String, Facts> loaded = new HashMap<>();
      for (IdentityStore.Stored s : rows) {
        loaded.put(s.identity().name(), new Facts(s.identity(), signingKey(s)));
      }
      for (String name : missing) {
        Facts f = loaded.get(name);
        cache.put(accountId + "\n" + name, new Cached(f, expires));
        if (f != null) {
          found.put(name, f);
        }
      }
      return found;
    });
  }

  /**
   * The domain's key while its record is known: verified, or missing from a check since (TEMPORARY_FAILURE: a lagging
   * secondary or a provider move may not have it for a while; a signature whose key is not found is no worse than none
   * to DMARC, and mail stays signed if it was only a blip), until it is FAILED.
   */
  private DkimKey signingKey(IdentityStore.Stored s) {
    Identity i = s.identity();
    if (!i.isDomain() || s.encryptedPrivateKey() == null || !i.dkimSigningEnabled()
        || i.dkimStatus() != Identity.Status.SUCCESS && i.dkimStatus() != Identity.Status.TEMPORARY_FAILURE) {
      return null;
    }
    try {
      return DkimKeyMaterial.signingKey(i.name(), i.dkimSelector(), s.encryptedPrivateKey(), secrets,
          IdentityService.keyAad(i.accountId(), i.name()));
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "DKIM key of " + i.name() + " cannot be used; messages go unsigned", e);
      return null;
    }
  }

  /** Forgets what is cached about one identity (it changed on this node). */
  public void invalidate(String accountId, String name) {
    cache.remove(accountId + "\n" + name);
  }

  /** start-dev: makes an address a verified identity on first use. */
  public Future<Void> autoVerify(String accountId, String address) {
    Identity i = new Identity(accountId, address, Identity.Type.EMAIL_ADDRESS, Identity.Status.SUCCESS, true,
        Identity.Status.NOT_STARTED, null, null, null, null, null, null, null, "USE_DEFAULT_VALUE", null, null, null,
        null);
    return store.insertOrVerify(i)
        .onSuccess(v -> {
          cache.remove(accountId + "\n" + address);
          LOG.info("start-dev: sender " + address + " verified automatically");
        });
  }
}
