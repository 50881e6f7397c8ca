package io.mailgate.api;

import io.mailgate.NetAddresses;
import io.mailgate.identity.AccountDirectory;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;
import io.vertx.core.shareddata.Shareable;
import java.net.InetAddress;

/**
 * Failed logins by client address, for every interface that checks an access key (SMTP AUTH, SigV4-signed HTTP
 * requests): an address that failed {@link #MAX_FAILURES} times within {@link #WINDOW_MILLIS} is refused, until the
 * window ends, every attempt that would cost a query (a key id neither cached nor being looked up, on the database the
 * sends share). Guessing is hopeless (a secret has 40 characters), but each new key id guessed would be a query; a key
 * the node knows (found on any of its event loops within the window, or being looked up, or cached) is still checked:
 * one client retrying a stale secret must not lock out every application behind the same address (a NAT, a PaaS's
 * egress). Loopback is not counted: a proxy in front would make every client one.
 *
 * <p>An attempt that costs a query is counted as failed before the query ({@link #begin}), and given back if it
 * succeeds or could not be checked ({@link Attempt#end}): guesses made at once, on the address's many connections,
 * see each other, so no more than the limit are looked up however many arrive together; a burst of attempts with the
 * right key shares one query and takes one count while it runs. Shared by the node's event loops (a client's
 * connections are spread over them) and by its interfaces.
 */
public final class LoginFailures {
  /** Failed logins one client address may make in {@link #WINDOW_MILLIS}, across its connections and interfaces. */
  public static final int MAX_FAILURES = 10;
  public static final long WINDOW_MILLIS = 10 * 60_000L;
  /** Addresses (and key ids) kept at most: beyond it, those whose window ended go. */
  private static final int MAX_TRACKED = 10_000;

  /** An address's failed logins: how many since {@code since}. */
  private record Failures(int count, long since) implements Shareable {}

  private final LocalMap<String, Failures> failures;
  /** Access key ids found to exist, and when last: each event loop has its own key cache, kept for seconds. */
  private final LocalMap<String, Long> knownKeys;
  private final AccountDirectory accounts;

  public LoginFailures(Vertx vertx, AccountDirectory accounts) {
    this.failures = vertx.sharedData().getLocalMap("mailgate.login.failures");
    this.knownKeys = vertx.sharedData().getLocalMap("mailgate.login.knownKeys");
    this.accounts = accounts;
  }

  /**
   * An attempt to log in with {@code keyId} from {@code client} (an address literal; null or loopback is not counted):
   * null when it is refused (the address failed too often and the key id would cost a query), else the attempt, to be
   * ended with how it went.
   */
  public Attempt begin(String client, String keyId) {
    return begin(client == null ? null : NetAddresses.literal(client), keyId);
  }

  /** As {@link #begin(String, String)}, for a client address a connection gives. */
  public Attempt begin(InetAddress client, String keyId) {
    String counted = client == null || client.isLoopbackAddress() ? null : client.getHostAddress();
    long now = System.currentTimeMillis();
    if (counted == null) {
      return new Attempt(null, keyId, now, -1);
    }
    Long seen = knownKeys.get(keyId);
    boolean known = seen != null && now - seen < WINDOW_MILLIS;
    boolean reserve = !known && !accounts.answersWithoutQuery(keyId);
    boolean[] refused = {false};
    long[] reserved = {-1};
    failures.compute(counted, (ip, f) -> {
      Failures live = f == null || now - f.since() >= WINDOW_MILLIS ? null : f;
      refused[0] = live != null && live.count() >= MAX_FAILURES;
      if (refused[0] || !reserve) {
        return live;
      }
      Failures taken = live == null ? new Failures(1, now) : new Failures(live.count() + 1, live.since());
      reserved[0] = taken.since();
      return taken;
    });
    if (refused[0] && reserve) {
      return null;
    }
    if (failures.size() > MAX_TRACKED) {
      failures.keySet().forEach(ip -> failures.computeIfPresent(ip,
          (k, f) -> now - f.since() >= WINDOW_MILLIS ? null : f));
      if (failures.size() > MAX_TRACKED) {
        failures.clear(); // that many addresses at once: memory first
      }
    }
    return new Attempt(counted, keyId, now, reserved[0]);
  }

  /** One login attempt that was let through: {@link #end} says how it went. */
  public final class Attempt {
    private final String counted;
    private final String keyId;
    private final long at;
    /** The window the attempt was counted in, when it was counted before the lookup; -1 when it was not. */
    private final long reserved;

    private Attempt(String counted, String keyId, long at, long reserved) {
      this.counted = counted;
      this.keyId = keyId;
      this.at = at;
      this.reserved = reserved;
    }

    /**
     * How the attempt went: whether the key id exists (it is then known to the node for a window), and whether the
     * login failed (false when it succeeded or could not be checked: the database away is no one's failure).
     */
    public void end(boolean keyExists, boolean failed) {
      if (keyExists) {
        rememberKey(keyId, at);
      }
      if (counted == null) {
        return;
      }
      if (reserved >= 0 && !failed) {
        // not a failed login after all: given back, in the window it was counted in
        failures.computeIfPresent(counted, (ip, f) -> f.since() != reserved ? f
            : f.count() <= 1 ? null : new Failures(f.count() - 1, f.since()));
      } else if (reserved < 0 && failed) {
        failures.compute(counted, (ip, f) -> f == null || at - f.since() >= WINDOW_MILLIS
            ? new Failures(1, at) : new Failures(f.count() + 1, f.since()));
      }
    }
  }

  /** {@code keyId} exists; the ids not seen for a window go once there are many (there are as many as keys). */
  private void rememberKey(String keyId, long now) {
    Long seen = knownKeys.get(keyId);
    if (seen != null && now - seen < WINDOW_MILLIS / 10) {
      return; // recent enough: every request of a busy key need not write to a map all event loops share
    }
    knownKeys.put(keyId, now);
    if (knownKeys.size() > MAX_TRACKED) {
      knownKeys.keySet().forEach(id -> knownKeys.computeIfPresent(id,
          (k, at) -> now - at >= WINDOW_MILLIS ? null : at));
      if (knownKeys.size() > MAX_TRACKED) {
        knownKeys.clear();
      }
    }
  }
}
