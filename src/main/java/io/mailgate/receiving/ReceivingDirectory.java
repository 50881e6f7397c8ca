package io.mailgate.receiving;

import io.mailgate.NetAddresses;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Who receives mail for an address: the accounts that verified its domain or a parent domain (unless the domain's
 * DKIM records have been missing for good: its owner may have changed) and have an active receipt rule set, with that
 * set's rules and the account's IP address filters. As in SES, a verified email address alone receives nothing: it
 * proves its owner reads that mailbox, not that the domain's mail is theirs to take (the domain's owner may receive
 * it). Answers are cached for {@code ttlMillis} (rule changes take effect within it), by domain; the caches are per
 * event loop and bounded.
 */
public final class ReceivingDirectory {
  /** An account's active rule set, its rules in order, and its receipt filters. */
  public record AccountRules(String accountId, String ruleSet, List<ReceiptRule> rules, List<NetAddresses.Cidr> blocked,
      List<NetAddresses.Cidr> allowed) {
    /** Whether the account's filters refuse mail from this client: blocked, and not allowed (Allow wins). */
    public boolean blocks(byte[] client) {
      return client != null && blocked.stream().anyMatch(c -> c.contains(client))
          && allowed.stream().noneMatch(c -> c.contains(client));
    }
  }

  private static final int MAX_ENTRIES = 10_000;

  /**
   * The most accounts that receive a message for one address (the first by account id): each runs its rules on the
   * message with a budget of its own ({@code MailReceiver#STORED_MESSAGES} copies), so the accounts bound what one
   * message may hold in memory. Each of them proved the domain in its DNS.
   */
  public static final int MAX_ACCOUNTS = 10;

  /**
   * The accounts receiving for a domain and its parents ($1), at most {@link #MAX_ACCOUNTS}: by a verified domain
   * whose DKIM record was not lost (its owner may have changed).
   */
  static final String ACCOUNTS = """
      SELECT DISTINCT s.account_id FROM receipt_rule_sets s JOIN identities i ON i.account_id = s.account_id
      WHERE s.active AND i.verification_status = 'SUCCESS' AND i.type = 'DOMAIN' AND i.identity = ANY($1)
        AND i.dkim_lost_at IS NULL
      ORDER BY s.account_id LIMIT %d""".formatted(ReceivingDirectory.MAX_ACCOUNTS);

  static final String RULES = """
      SELECT s.account_id, s.name,
        (SELECT coalesce(json_agg(json_build_object('name', r.name, 'enabled', r.enabled, 'tls', r.tls_policy,
                 'recipients', r.recipients, 'actions', r.actions, 'scan', r.scan_enabled) ORDER BY r.position), '[]')
         FROM receipt_rules r WHERE r.account_id = s.account_id AND r.rule_set = s.name)::text,
        ARRAY(SELECT f.policy || ' ' || f.cidr::text FROM receipt_filters f WHERE f.account_id = s.account_id)
      FROM receipt_rule_sets s WHERE s.active AND s.account_id = $1""";

  private record Cached<T>(Future<T> value, long until) {}

  private final Pool db;
  private final Clock clock;
  private final long ttlMillis;
  /** Least recently used first; a load under way is cached too, so concurrent lookups share it. */
  private final Map<String, Cached<List<String>>> accountsByDomain = lru();
  private final Map<String, Cached<AccountRules>> rulesByAccount = lru();

  public ReceivingDirectory(Pool db, Clock clock, long ttlMillis) {
    this.db = db;
    this.clock = clock;
    this.ttlMillis = ttlMillis;
  }

  /** The accounts receiving for this address, in account id order; empty when none does. */
  public Future<List<AccountRules>> receivers(String address) {
    String key = address.toLowerCase(Locale.ROOT);
    long now = clock.millis();
    String domain = key.substring(key.lastIndexOf('@') + 1);
    Future<List<String>> accounts = cached(accountsByDomain, domain, now, () -> db.preparedQuery(ACCOUNTS)
        .execute(Tuple.tuple().addArrayOfString(domains(domain).toArray(String[]::new)))
        .map(rows -> {
          List<String> found = new ArrayList<>();
          rows.forEach(r -> found.add(r.getString(0)));
          found.sort(null);
          return List.copyOf(found);
        }));
    return accounts.compose(list -> {
      List<Future<AccountRules>> each = new ArrayList<>(list.size());
      for (String a : list) {
        each.add(cached(rulesByAccount, a, now, () -> db.preparedQuery(RULES).execute(Tuple.of(a))
            .map(rows -> rows.size() == 0 ? null : accountRules(rows.iterator().next()))));
      }
      return Future.all(each).map(all -> {
        List<AccountRules> out = new ArrayList<>(each.size());
        for (Future<AccountRules> f : each) {
          if (f.result() != null) {
            out.add(f.result()); // null: no active set any more
          }
        }
        return out;
      });
    });
  }

  /** The cached answer while it is fresh, else a new load (cached at once; dropped if it fails). */
  private <T> Future<T> cached(Map<String, Cached<T>> cache, String key, long now,
      java.util.function.Supplier<Future<T>> load) {
    Cached<T> c = cache.get(key);
    if (c != null && c.until() > now) {
      return c.value();
    }
    Future<T> loading = load.get();
    Cached<T> entry = new Cached<>(loading, now + ttlMillis);
    cache.put(key, entry);
    loading.onFailure(e -> cache.remove(key, entry));
    return loading;
  }

  private static AccountRules accountRules(Row r) {
    List<ReceiptRule> rules = new ArrayList<>();
    JsonArray stored = new JsonArray(r.getString(2));
    for (int i = 0; i < stored.size(); i++) {
      JsonObject o = stored.getJsonObject(i);
      List<String> recipients = new ArrayList<>();
      o.getJsonArray("recipients").forEach(x -> recipients.add(String.valueOf(x)));
      rules.add(new ReceiptRule(o.getString("name"), o.getBoolean("enabled"), o.getString("tls"), recipients,
          ReceiptRule.actions(o.getJsonArray("actions")), o.getBoolean("scan")));
    }
    List<NetAddresses.Cidr> blocked = new ArrayList<>();
    List<NetAddresses.Cidr> allowed = new ArrayList<>();
    for (String f : r.getArrayOfStrings(3)) {
      int space = f.indexOf(' ');
      NetAddresses.Cidr cidr = NetAddresses.Cidr.parse(f.substring(space + 1));
      if (cidr != null) {
        (f.startsWith("Allow") ? allowed : blocked).add(cidr);
      }
    }
    return new AccountRules(r.getString(0), r.getString(1), List.copyOf(rules), List.copyOf(blocked),
        List.copyOf(allowed));
  }

  /** The domain and each parent domain with at least two labels: a.b.example.com, b.example.com, example.com. */
  public static List<String> domains(String domain) {
    List<String> out = new ArrayList<>();
    String d = domain;
    while (d.indexOf('.') > 0) {
      out.add(d);
      d = d.substring(d.indexOf('.') + 1);
    }
    return out;
  }

  private static <T> Map<String, T> lru() {
    return new java.util.LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, T> eldest) {
        return size() > MAX_ENTRIES;
      }
    };
  }
}
