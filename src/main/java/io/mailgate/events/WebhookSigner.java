package io.mailgate.events;

import io.mailgate.identity.SecretBox;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs event webhooks as Standard Webhooks (standardwebhooks.com) does, so a receiver verifies them with that
 * project's libraries (every common language has one) or twenty lines of its own: {@code webhook-signature} is
 * {@code v1,} and the base64 HMAC-SHA256 of {@code <webhook-id>.<webhook-timestamp>.<body>} under the secret's key.
 * Each account has its own secret ({@code whsec_} and the key in base64), derived from the master key and the
 * account, so every node signs alike and nothing secret is stored: {@code mailgate admin account webhook-secret <id>}
 * prints it, and start-dev prints the development account's. Rotating it ({@code --rotate}) moves the account to the
 * next generation of its secret; for a grace period events carry a second signature under the previous one
 * (Standard Webhooks' header takes several, space separated, and its libraries accept any that matches).
 * <p>
 * Each destination (a webhook URL of the account's: an event destination, an identity's notification topic, a receipt
 * rule's action) has a secret of its own too, derived from the master key, the account, the generation and the URL as
 * configured, and every post carries a signature under it beside the account's: a receiver given its destination's
 * secret ({@code --url}) accepts nothing signed for another, so one receiver of the account's, knowing what it
 * verifies with, cannot forge a post that another accepts. The account's secret does not give the destinations'.
 */
public final class WebhookSigner {
  static final String PREFIX = "whsec_";

  private final byte[] root;
  /** Later generations come from a key of their own: no account id can spell another's generation. */
  private final byte[] rotated;

  /** Destinations' secrets come from a key of their own, every generation's. */
  private final byte[] destinations;

  public WebhookSigner(SecretBox secrets) {
    this.root = secrets.derive("event-webhook-signing");
    this.rotated = secrets.derive("event-webhook-signing/rotated");
    this.destinations = secrets.derive("event-webhook-signing/destination");
  }

  /** The account's signing key (32 bytes) of this generation of its secret (0: the first). */
  public byte[] key(String accountId, int generation) {
    return generation == 0 ? SecretBox.hmac(root, accountId) : SecretBox.hmac(rotated, generation + ":" + accountId);
  }

  /**
   * The signing key (32 bytes) of the account's destination {@code url} (as configured, byte for byte) of this
   * generation of the account's secret. A URL holds no line break (destinations refuse control characters), nor does
   * an account id: the parts cannot run into each other.
   */
  public byte[] key(String accountId, int generation, String url) {
    return SecretBox.hmac(destinations, generation + "\n" + accountId + "\n" + url);
  }

  /** The secret of the account's destination {@code url} of this generation, as its receiver configures it. */
  public String secret(String accountId, int generation, String url) {
    return PREFIX + Base64.getEncoder().encodeToString(key(accountId, generation, url));
  }

  /** The account's first secret as a receiver configures it. */
  public String secret(String accountId) {
    return secret(accountId, 0);
  }

  /** The account's secret of this generation as a receiver configures it. */
  public String secret(String accountId, int generation) {
    return PREFIX + Base64.getEncoder().encodeToString(key(accountId, generation));
  }

  /**
   * Signatures for one thread (the publisher's event loop): the keyed HMAC of each account secret in use is kept, so
   * a post costs its hash and nothing more (deriving the account's key and setting up an HMAC under it took two more
   * HMAC set-ups and two provider lookups per post). At most {@code capacity} secrets are kept, the least recently
   * used let go. Not thread-safe.
   */
  public Macs macs(int capacity) {
    return new Macs(capacity);
  }

  /** See {@link #macs}. */
  public final class Macs {
    private final Map<Secret, Mac> keyed;

    private Macs(int capacity) {
      this.keyed = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Secret, Mac> eldest) {
          return size() > capacity;
        }
      };
    }

    /** The {@code webhook-signature} header's value under the account's secret of this generation. */
    public String signature(String accountId, int generation, String id, long timestampSeconds, byte[] body) {
      return signature(accountId, generation, null, id, timestampSeconds, body);
    }

    /**
     * The {@code webhook-signature} header's value under the secret of the account's destination {@code url} of this
     * generation; under the account's own when {@code url} is null.
     */
    public String signature(String accountId, int generation, String url, String id, long timestampSeconds,
        byte[] body) {
      Mac mac = keyed.computeIfAbsent(new Secret(accountId, generation, url), s -> hmacUnder(url == null
          ? key(accountId, generation) : key(accountId, generation, url)));
      return sign(mac, id, timestampSeconds, body);
    }

    int size() {
      return keyed.size();
    }

    /** Whether this secret's HMAC is kept (does not count as a use). */
    boolean holds(String accountId, int generation) {
      return keyed.containsKey(new Secret(accountId, generation, null));
    }
  }

  /** A secret whose HMAC is kept: the account's ({@code url} null) or one of its destinations'. */
  private record Secret(String accountId, int generation, String url) {}

  /** Signs with {@code mac}, which is ready for the next message afterwards (doFinal resets it, key kept). */
  private static String sign(Mac mac, String id, long timestampSeconds, byte[] body) {
    mac.update((id + "." + timestampSeconds + ".").getBytes(StandardCharsets.UTF_8));
    return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
  }

  private static Mac hmacUnder(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
