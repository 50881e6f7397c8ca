package io.mailgate.send.smime;

import io.mailgate.identity.CertificateStore;
import io.mailgate.identity.SmimeCertificate;
import io.mailgate.store.ReadThroughCache;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.Locale;
import java.util.Optional;

/**
 * The S/MIME certificate (with its key) that signs for a From address, as the send path asks for it at each send of a
 * configuration set that signs: read through a cache of {@code cache.ttlMillis} (an association made or removed is
 * seen at once by the verticle that served the request, within that time by the others, here and on other nodes).
 * One per verticle: not thread-safe.
 */
public final class SmimeKeys {
  private final ReadThroughCache<SmimeCertificate> cache;

  public SmimeKeys(CertificateStore store, Clock clock, long ttlMillis) {
    this.cache = new ReadThroughCache<>(clock, ttlMillis, store::signer);
  }

  /** The certificate of the account's identity that signs for {@code address}, if one does. */
  public Future<Optional<SmimeCertificate>> forAddress(String accountId, String address) {
    return cache.get(accountId, address.toLowerCase(Locale.ROOT));
  }

  /** An association of the address made or removed: read it again. */
  public void invalidate(String accountId, String address) {
    cache.invalidate(accountId, address.toLowerCase(Locale.ROOT));
  }
}
