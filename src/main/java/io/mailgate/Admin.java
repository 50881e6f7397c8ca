package io.mailgate;

import io.mailgate.api.sesv2.SuppressionHandler;
import io.mailgate.config.MailgateConfig;
import io.mailgate.events.WebhookSigner;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.identity.Accounts;
import io.mailgate.identity.SecretBox;
import io.mailgate.store.Database;
import io.mailgate.store.Migrations;
import io.mailgate.store.SuppressionStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code mailgate admin ...}: accounts, access keys and the global suppression list, against the database of the nodes
 * ({@code pg.url}) with their master key. Changes reach running nodes within seconds (their caches
 * expire). Secrets are printed once, at creation, and stored only encrypted.
 */
final class Admin {
  static final String USAGE = """
      usage: mailgate admin <command>
        account create <name> [--max-send-rate N] [--max-24-hour-send N] [--production]
        account list
        account set <account-id> [--max-send-rate N] [--max-24-hour-send N] [--production true|false] [--sending true|false]
        account webhook-secret <account-id> [--url <destination-url>] [--rotate [--grace-hours N] [--force]]
        key create <account-id>
        key list [<account-id>]
        key disable <access-key-id>
        key enable <access-key-id>
        suppression show <address>
        suppression remove <address>""";

  private Admin() {}

  /** The command line itself is wrong: answered with the usage, exit code 2. */
  static final class UsageError extends RuntimeException {
    UsageError(String message) {
      super(message, null, false, false);
    }
  }

  static int run(MailgateConfig config, String[] args) {
    if (args.length < 2) {
      System.err.println(USAGE);
      return 2;
    }
    String masterKey = config.get(MailgateConfig.SECURITY_MASTER_KEY);
    if (masterKey.isBlank()) {
      System.err.println("note: security.masterKey is not set; using start-dev's development key");
      masterKey = MailgateNode.DEV_MASTER_KEY;
    }
    SecretBox secrets;
    try {
      secrets = SecretBox.fromBase64(masterKey);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      return 2;
    }
    Vertx vertx = Vertx.vertx();
    Pool pool = Database.pool(vertx, config, 1);
    try {
      Accounts accounts = new Accounts(pool, secrets);
      boolean devKey = config.get(MailgateConfig.SECURITY_MASTER_KEY).isBlank();
      Future<String> result = Migrations.apply(pool).compose(n -> opens(pool, secrets, devKey)).compose(n -> dispatch(accounts,
          new SuppressionStore(vertx, pool,
          config.get(MailgateConfig.FEEDBACK_GLOBAL_SUPPRESSION_DAYS), 1, 0), new WebhookSigner(secrets), config, args));
      System.out.println(result.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS));
      return 0;
    } catch (java.util.concurrent.ExecutionException e) {
      System.err.println("error: " + e.getCause().getMessage());
      if (e.getCause() instanceof UsageError) {
        System.err.println(USAGE);
        return 2;
      }
      return 1;
    } catch (Exception e) {
      System.err.println("error: " + e);
      return 1;
    } finally {
      pool.close();
      vertx.close();
    }
  }

  /** The database's secrets do not open under the master key given: another installation's, or another key. */
  static final class ForeignSecrets extends RuntimeException {
    ForeignSecrets() {
      super("security.masterKey (MAILGATE_SECURITY_MASTER_KEY) does not open this database's secrets: set it as the "
          + "nodes have it", null, false, false);
    }
  }

  /**
   * Fails unless the master key opens the database's secrets (the oldest access key's): an admin command run without
   * the nodes' key (falling back to start-dev's) or with another must not store secrets the nodes cannot read. Start-dev's
   * key ({@code devKey}) opens only a database that has secrets already (start-dev's has its development key): on one
   * that has none, a production database being set up, it would seal the first tenants' secrets under a key published
   * with the source.
   */
  static Future<Void> opens(Pool pool, SecretBox secrets, boolean devKey) {
    return pool.query("SELECT access_key_id, secret FROM access_keys ORDER BY created_at LIMIT 1").execute()
        .compose(rows -> {
          if (devKey && rows.size() == 0) {
            return Future.failedFuture("security.masterKey (MAILGATE_SECURITY_MASTER_KEY) is not set, and start-dev's "
                + "development key opens only start-dev's database: set it as the nodes have it");
          }
          for (io.vertx.sqlclient.Row r : rows) {
            try {
              secrets.decryptString(r.getBuffer(1).getBytes(), r.getString(0));
            } catch (RuntimeException e) {
              return Future.failedFuture(new ForeignSecrets());
            }
          }
          return Future.succeededFuture();
        });
  }

  private static Future<String> dispatch(Accounts accounts, SuppressionStore suppressions, WebhookSigner webhooks,
      MailgateConfig config,
      String[] args) {
    String what = args[1] + " " + (args.length > 2 ? args[2] : "");
    List<String> rest = new ArrayList<>(List.of(args).subList(Math.min(3, args.length), args.length));
    Map<String, String> flags = flags(rest);
    switch (what.strip()) {
      case "account create": {
        only(flags, what, "production", "max-send-rate", "max-24-hour-send");
        String name = positional(rest, "account name");
        if (name.isBlank()) {
          throw new UsageError("the account name is empty");
        }
        boolean production = Boolean.TRUE.equals(bool(flags, "production"));
        double rate = number(flags, "max-send-rate", config.get(MailgateConfig.ACCOUNTS_DEFAULT_MAX_SEND_RATE), Double::parseDouble);
        long quota = number(flags, "max-24-hour-send", config.get(MailgateConfig.ACCOUNTS_DEFAULT_MAX_24_HOUR_SEND), Long::parseLong);
        return accounts.create(name, rate, quota, production).map(k -> "account " + k.accountId() + " created ("
            + (production ? "production" : "sandbox") + ")\naccess key id      " + k.accessKeyId()
            + "\nsecret access key  " + k.secretAccessKey() + "\n(the secret is shown only now)");
      }
      case "account list":
        only(flags, what);
        return accounts.list().map(rows -> {
          StringBuilder sb = new StringBuilder(String.format("%-12s  %-20s  %10s  %14s  %-10s  %s%n", "ACCOUNT", "NAME",
              "RATE", "MAX24HOUR", "MODE", "SENDING"));
          // the limits in force: a sandbox account's own take over when it leaves the sandbox
          AccountDirectory.SandboxLimits sandbox = new AccountDirectory.SandboxLimits(
              config.get(MailgateConfig.ACCOUNTS_SANDBOX_MAX_SEND_RATE),
              config.get(MailgateConfig.ACCOUNTS_SANDBOX_MAX_24_HOUR_SEND));
          for (Accounts.AccountRow r : rows) {
            boolean own = r.productionAccess();
            sb.append(String.format("%-12s  %-20s  %10s  %14d  %-10s  %s%n", r.id(), r.name(),
                own ? r.maxSendRate() : sandbox.maxSendRate(r.maxSendRate()),
                own ? r.max24HourSend() : sandbox.max24HourSend(r.max24HourSend()), mode(r), sending(r)));
          }
          return sb.toString().stripTrailing();
        });
      case "account set": {
        only(flags, what, "production", "max-send-rate", "max-24-hour-send", "sending");
        String id = positional(rest, "account id");
        Double rate = flags.containsKey("max-send-rate") ? number(flags, "max-send-rate", 0.0, Double::parseDouble) : null;
        Long quota = flags.containsKey("max-24-hour-send") ? number(flags, "max-24-hour-send", 0L, Long::parseLong) : null;
        Boolean production = bool(flags, "production");
        Boolean sending = bool(flags, "sending");
        if (rate == null && quota == null && production == null && sending == null) {
          throw new UsageError("nothing to set");
        }
        // --sending true lifts one pause at a time (the operator's, a shutdown, the owner's): another may still hold,
        // and the operator should know
        return accounts.update(id, rate, quota, production, sending).map(r -> "account " + id + " updated"
            + (sending == null ? "" : "; sending " + sending(r)));
      }
      case "account webhook-secret": {
        only(flags, what, "rotate", "grace-hours", "force", "url");
        String id = positional(rest, "account id");
        String url = flags.get("url");
        if (url != null && (url.isBlank() || url.equals("true"))) {
          throw new UsageError("--url needs the destination's URL, as configured");
        }
        boolean rotate = flags.containsKey("rotate");
        Long grace = flags.containsKey("grace-hours") ? number(flags, "grace-hours", 0L, Long::parseLong) : null;
        if (grace != null && (!rotate || grace < 0 || grace > 24 * 30)) {
          throw new UsageError("--grace-hours goes with --rotate, from 0 to 720");
        }
        Future<Accounts.WebhookSecretState> state = rotate
            ? accounts.rotateWebhookSecret(id, grace == null ? 24 : grace.intValue(), flags.containsKey("force"))
            : accounts.webhookSecret(id);
        return state.map(s -> {
          java.util.function.IntFunction<String> secret = generation -> url == null ? webhooks.secret(id, generation)
              : webhooks.secret(id, generation, url);
          StringBuilder out = new StringBuilder(secret.apply(s.generation()));
          out.append(url == null ? "\n(event webhooks of account " + id + " are signed with it"
              : "\n(the posts to " + url + " of account " + id + " are signed with it, no other destination's")
              .append(": Standard Webhooks, webhook-signature header");
          if (s.previousUntil() != null && s.previousUntil().isAfter(java.time.Instant.now()) && s.generation() > 0) {
            out.append("; until ").append(s.previousUntil()).append(" also with the previous secret ")
                .append(secret.apply(s.generation() - 1));
          }
          return out.append(")").toString();
        }).recover(e -> Future.failedFuture(e instanceof IllegalArgumentException ? new UsageError(e.getMessage()) : e));
      }
      case "key create":
        only(flags, what);
        return accounts.createKey(positional(rest, "account id")).map(k -> "access key id      " + k.accessKeyId()
            + "\nsecret access key  " + k.secretAccessKey() + "\n(the secret is shown only now)");
      case "key list":
        only(flags, what);
        return accounts.keys(rest.isEmpty() ? null : rest.get(0)).map(rows -> {
          StringBuilder sb = new StringBuilder(String.format("%-20s  %-12s  %s%n", "ACCESS KEY", "ACCOUNT", "STATUS"));
          for (Accounts.KeyRow r : rows) {
            sb.append(String.format("%-20s  %-12s  %s%n", r.accessKeyId(), r.accountId(), r.enabled() ? "enabled" : "disabled"));
          }
          return sb.toString().stripTrailing();
        });
      case "key disable":
      case "key enable": {
        only(flags, what);
        String key = positional(rest, "access key id");
        boolean enable = args[2].equals("enable");
        return accounts.setKeyEnabled(key, enable).map(v -> "access key " + key + (enable ? " enabled" : " disabled"));
      }
      case "suppression show": {
        only(flags, what);
        String email = address(positional(rest, "address"));
        return suppressions.globalSince(email).map(since -> since.isEmpty() ? email + " is not on the global suppression list"
            : email + " is on the global suppression list (last hard bounce " + since.get() + ")");
      }
      case "suppression remove": {
        only(flags, what);
        // only here: an account that could take addresses off the list every account obeys would undo
        // what other accounts' bounces taught it
        String email = address(positional(rest, "address"));
        return suppressions.removeGlobal(email).map(removed -> removed ? email + " removed from the global suppression list"
            : email + " was not on the global suppression list");
      }
      default:
        throw new UsageError("unknown admin command: " + what.strip());
    }
  }

  /** An account's MODE in {@code account list}: "requested" is a sandbox account whose owner asked for production. */
  private static String mode(Accounts.AccountRow r) {
    return r.productionAccess() ? "production" : r.productionAccessRequested() ? "requested" : "sandbox";
  }

  /**
   * An account's SENDING in {@code account list}: who holds a pause, in the order {@code --sending true} lifts them,
   * one at a time: the operator's, a reputation shutdown, the owner's (which its owner lifts too).
   */
  private static String sending(Accounts.AccountRow r) {
    return r.sendingEnabled() ? "enabled" : "PAUSED (" + String.join(", ", r.pausedBy()) + ")";
  }

  private static Map<String, String> flags(List<String> args) {
    Map<String, String> flags = new HashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--")) {
        String name = a.substring(2);
        String next = i + 1 < args.size() ? args.get(i + 1) : null;
        // --production alone is a switch; with true/false it is a setting; --rotate and --force are switches
        boolean valued = next != null && !next.startsWith("--") && !name.equals("rotate") && !name.equals("force")
            && (!name.equals("production") || next.equals("true") || next.equals("false"));
        flags.put(name, valued ? next : "true");
        args.remove(i);
        if (valued) {
          args.remove(i);
        }
        i--;
      }
    }
    return flags;
  }

  /** A command takes only its own options: a misspelt one would otherwise be left out without a word. */
  private static void only(Map<String, String> flags, String command, String... allowed) {
    for (String name : flags.keySet()) {
      if (!List.of(allowed).contains(name)) {
        throw new UsageError("admin " + command.strip() + " has no option --" + name);
      }
    }
  }

  private static String positional(List<String> rest, String what) {
    if (rest.isEmpty()) {
      throw new UsageError("missing " + what);
    }
    return rest.get(0);
  }

  private static String address(String raw) {
    try {
      return SuppressionHandler.email(raw);
    } catch (SesException e) {
      throw new UsageError(e.getMessage());
    }
  }

  private static <T extends Number> T number(Map<String, String> flags, String name, T def, Function<String, T> parse) {
    T n;
    try {
      n = flags.containsKey(name) ? parse.apply(flags.get(name)) : def;
    } catch (NumberFormatException e) {
      throw new UsageError("--" + name + " must be a number");
    }
    // a rate of 0 would send nothing (pause the account with --sending false); -1 is an unlimited daily quota
    if (name.equals("max-send-rate") && flags.containsKey(name)
        && !(n.doubleValue() > 0 && Double.isFinite(n.doubleValue()))) {
      throw new UsageError("--max-send-rate must be a number above 0");
    }
    if (name.equals("max-24-hour-send") && flags.containsKey(name) && n.longValue() < -1) {
      throw new UsageError("--max-24-hour-send must be -1 (unlimited) or more");
    }
    return n;
  }

  private static Boolean bool(Map<String, String> flags, String name) {
    String v = flags.get(name);
    if (v == null) {
      return null;
    }
    if (!v.equals("true") && !v.equals("false")) {
      throw new UsageError("--" + name + " takes true or false");
    }
    return Boolean.valueOf(v);
  }
}
