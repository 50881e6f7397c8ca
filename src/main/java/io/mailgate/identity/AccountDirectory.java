package io.mailgate.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the account behind an access key, with the key's secret decrypted for SigV4. Lookups are
 * cached per verticle instance for a short time so the send path does not pay a database round
 * trip per request; a disabled key or changed limit takes effect within {@code cache.ttlMillis}.
 * Accounts in the sandbox get the sandbox limits, or their own where those are lower.
 */
public final class AccountDirectory {

  /**
   * The limits of accounts in the sandbox: an account there sends at the lower of these and its own (an operator may
   * hold a suspicious sandbox account below them; a negative Max24HourSend is no daily limit of its own).
   */
  public record SandboxLimits(double maxSendRate, long max24HourSend) {
    public double maxSendRate(double own) {
      return Math.min(own, maxSendRate);
    }

    public long max24HourSend(long own) {
      return own < 0 ? max24HourSend : max24HourSend < 0 ? own : Math.min(own, max24HourSend);
    }
  }

  private record Cached<T>(T value, long expiresAt) {}

  /** Entries of each cache (known keys, unknown ids) before it is emptied. */
  static final int MAX_CACHED = 10_000;

  private final Pool pool;
  private final Clock clock;
  private final SecretBox secrets;
  private final SandboxLimits sandbox;
  private final long ttlMillis;
  private final Map<String, Cached<Optional<AccessKey>>> cache = new HashMap<>();
  /** Ids that name no key, kept apart: anyone can make up more of them than there are keys, and they must not push
   * the real keys out. */
  private final Map<String, Cached<Optional<AccessKey>>> unknown = new HashMap<>();
  private final Map<String, Future<Optional<AccessKey>>> inFlight = new HashMap<>();

  public AccountDirectory(Pool pool, Clock clock, SecretBox secrets, SandboxLimits sandbox, long ttlMillis) {
    this.ttlMillis = ttlMillis;
    this.pool = pool;
    this.clock = clock;
    this.secrets = secrets;
    this.sandbox = sandbox;
  }

  /**
   * Whether {@link #byAccessKey} would answer without a query of its own: an id no key can have, one cached (known or
   * unknown), or one whose query is already under way.
   */
  public boolean answersWithoutQuery(String accessKeyId) {
    return !plausibleKeyId(accessKeyId) || inFlight.containsKey(accessKeyId) || cached(accessKeyId) != null;
  }

  /** What the cache holds of the key id (known or unknown), unexpired; null when it holds nothing. */
  private Cached<Optional<AccessKey>> cached(String accessKeyId) {
    Cached<Optional<AccessKey>> c = cache.get(accessKeyId);
    if (c == null) {
      c = unknown.get(accessKeyId);
    }
    return c != null && c.expiresAt() > clock.millis() ? c : null;
  }

  public Future<Optional<AccessKey>> byAccessKey(String accessKeyId) {
    if (!plausibleKeyId(accessKeyId)) {
      return Future.succeededFuture(Optional.empty()); // no key has such an id: not worth a query (a NUL fails one)
    }
    Cached<Optional<AccessKey>> c = cached(accessKeyId);
    if (c != null) {
      return Future.succeededFuture(c.value());
    }
    Future<Optional<AccessKey>> pending = inFlight.get(accessKeyId);
    if (pending != null) {
      return pending; // a burst of requests with a cold cache makes one query
    }
    Future<Optional<AccessKey>> f = pool.preparedQuery(
            "SELECT k.access_key_id, k.secret, k.enabled, " + ACCOUNT_COLUMNS
                + " FROM access_keys k JOIN accounts a ON a.id = k.account_id WHERE k.access_key_id = $1")
        .execute(Tuple.of(accessKeyId))
        .map(rows -> rows.size() == 0 ? Optional.<AccessKey>empty() : Optional.of(toKey(rows.iterator().next())));
    inFlight.put(accessKeyId, f);
    return f.andThen(ar -> {
      inFlight.remove(accessKeyId);
      if (ar.succeeded()) {
        Map<String, Cached<Optional<AccessKey>>> into = ar.result().isPresent() ? cache : unknown;
        if (into.size() >= MAX_CACHED) {
          into.clear();
        }
        into.put(accessKeyId, new Cached<>(ar.result(), clock.millis() + ttlMillis));
      }
    });
  }

  /**
   * An account with what GetAccount shows besides its limits: {@code accountDetails} as PutAccountDetails stored them
   * (null before the first), whether its owner asked there for production access, and {@code vdmAttributes} as
   * PutAccountVdmAttributes stored them (null before the first).
   */
  public record Details(Account account, String enforcementStatus, java.util.List<String> suppressedReasons,
      JsonObject reputation, JsonObject accountDetails, boolean productionAccessRequested, JsonObject vdmAttributes,
      io.mailgate.feedback.ValidationThreshold validation) {

    /** An account that has nothing stored besides its limits. */
    public Details(Account account, String enforcementStatus, java.util.List<String> suppressedReasons) {
      this(account, enforcementStatus, suppressedReasons, null, null, false, null, null);
    }
  }

  /** The account by id, uncached (for the account API, where freshness matters more than speed). */
  public Future<Optional<Details>> byId(String accountId) {
    // an operator's pause shows as SES shows a pause AWS imposed, as a reputation shutdown does
    return pool.preparedQuery("SELECT " + ACCOUNT_COLUMNS + ", CASE WHEN a.paused_by_operator THEN 'SHUTDOWN' "
            + "ELSE a.enforcement_status END, a.suppressed_reasons, a.reputation, a.details, "
            + "a.production_access_requested, a.vdm_attributes, a.validation_enabled, a.validation_threshold "
            + "FROM accounts a WHERE a.id = $1")
        .execute(Tuple.of(accountId))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.<Details>empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Details(toAccount(r, 0), r.getString(7), java.util.List.of(r.getArrayOfStrings(8)),
              json(r.getValue(9)), json(r.getValue(10)), r.getBoolean(11), json(r.getValue(12)),
              io.mailgate.feedback.ValidationThreshold.of(r.getBoolean(13), r.getString(14))));
        });
  }

  private static JsonObject json(Object column) {
    return column instanceof JsonObject j ? j : column == null ? null : new JsonObject(column.toString());
  }

  /**
   * PutAccountDetails: replaces what the owner said about the account's mail, and whether it asks for production
   * access. Asking changes nothing else: only an operator lets an account out of the sandbox ({@code mailgate admin
   * account set <id> --production true}).
   */
  public Future<Void> setDetails(String accountId, JsonObject details, boolean productionAccessRequested) {
    return pool.preparedQuery("UPDATE accounts SET details = $2, production_access_requested = $3 WHERE id = $1")
        .execute(Tuple.of(accountId, details, productionAccessRequested))
        .mapEmpty();
  }

  /**
   * PutAccountVdmAttributes: what the owner set, as GetAccount shows it. Its engagement tracking is the send path's
   * ({@link Account#engagementTracking}): this instance's cached keys of the account are dropped, so that its next
   * send here sees it; elsewhere within {@code cache.ttlMillis}.
   */
  public Future<Void> setVdmAttributes(String accountId, JsonObject vdmAttributes) {
    return pool.preparedQuery("UPDATE accounts SET vdm_attributes = $2 WHERE id = $1")
        .execute(Tuple.of(accountId, vdmAttributes))
        .<Void>mapEmpty()
        .onSuccess(v -> forget(accountId));
  }

  /** Drops this instance's cached keys of the account. */
  private void forget(String accountId) {
    cache.values().removeIf(c -> c.value().map(k -> k.account().id().equals(accountId)).orElse(false));
  }

  /** What the owner's call to pause or resume did: done, or refused because of a pause only an operator lifts. */
  public enum SendingChange { DONE, PAUSED_BY_OPERATOR, SHUT_DOWN }

  /**
   * PutAccountSendingAttributes / UpdateAccountSendingEnabled: the account's owner pauses or resumes its sending. The
   * owner's choice is stored apart from an operator's pause ({@code paused_by_operator}) and a reputation shutdown
   * ({@code enforcement_status}): its pause is recorded whatever else holds, and outlasts both. Its resume is refused,
   * changing nothing, while an operator's pause or a reputation shutdown holds (SES: only AWS can resume a pause AWS
   * imposed; here an operator, with {@code mailgate admin}). One statement decides and writes under the row's lock:
   * an operator's pause committed meanwhile is seen, not overwritten. This instance's cached keys of the account are
   * dropped so its next send here sees it; elsewhere within {@code cache.ttlMillis}.
   */
  public Future<SendingChange> setSendingEnabled(String accountId, boolean enabled) {
    String refused = "$2 AND (paused_by_operator OR enforcement_status = 'SHUTDOWN')";
    return pool.preparedQuery("UPDATE accounts SET sending_enabled = CASE WHEN " + refused + " THEN sending_enabled "
            + "ELSE $2 END WHERE id = $1 AND id <> 'system' RETURNING NOT (" + refused + "), paused_by_operator")
        .execute(Tuple.of(accountId, enabled))
        .map(rows -> {
          forget(accountId);
          Row r = rows.size() == 0 ? null : rows.iterator().next();
          return r == null ? SendingChange.SHUT_DOWN // the system account, which no caller is
              : r.getBoolean(0) ? SendingChange.DONE
              : r.getBoolean(1) ? SendingChange.PAUSED_BY_OPERATOR : SendingChange.SHUT_DOWN;
        });
  }

  /**
   * The account's columns as {@link #toAccount} reads them. Its sending is the effective one, what the send path,
   * GetAccount and the console go by: three pauses are kept apart, and it sends while none holds: its owner's
   * ({@code sending_enabled} false), an operator's ({@code paused_by_operator}) and a reputation shutdown
   * ({@code enforcement_status}, {@code ReputationVerticle}).
   */
  static final String ACCOUNT_COLUMNS = "a.id, a.name, a.max_send_rate, a.max_24h_send, "
      + "a.sending_enabled AND NOT a.paused_by_operator AND a.enforcement_status <> 'SHUTDOWN', a.production_access, "
      + "coalesce(a.vdm_attributes->>'VdmEnabled' = 'ENABLED' "
      + "AND a.vdm_attributes->'DashboardAttributes'->>'EngagementMetrics' = 'ENABLED', false)";

  private AccessKey toKey(Row r) {
    String keyId = r.getString(0);
    String secret = secrets.decryptString(r.getBuffer(1).getBytes(), keyId);
    return new AccessKey(keyId, secret, r.getBoolean(2), toAccount(r, 3));
  }

  Account toAccount(Row r, int from) {
    boolean production = r.getBoolean(from + 5);
    return new Account(r.getString(from), r.getString(from + 1),
        production ? r.getDouble(from + 2) : sandbox.maxSendRate(r.getDouble(from + 2)),
        production ? r.getLong(from + 3) : sandbox.max24HourSend(r.getLong(from + 3)),
        r.getBoolean(from + 4), production, r.getBoolean(from + 6));
  }

  /** Printable ASCII without spaces, at most 128 characters, as every access key id is (AWS's are [A-Z0-9]{16,128}). */
  static boolean plausibleKeyId(String id) {
    if (id.isEmpty() || id.length() > 128) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c <= ' ' || c >= 0x7f) {
        return false;
      }
    }
    return true;
  }
}
