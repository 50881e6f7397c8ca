package io.mailgate;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;

import io.mailgate.dev.CaptureSink;
import io.mailgate.dev.EmbeddedServices;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Launcher. {@code start}: production, with external PostgreSQL, Redis and relay.
 * {@code start-dev}: everything embedded, mail captured locally, a default account.
 * {@code config}: prints every configuration key with its default and description.
 */
public final class Main {
  static {
    // before any logger exists: keep logging alive while the shutdown hook runs
    System.setProperty("java.util.logging.manager", ShutdownLogManager.class.getName());
  }

  /** Held so the level settings are not lost when the loggers are garbage collected. */
  private static final Logger[] QUIET = {Logger.getLogger("io.zonky"), Logger.getLogger("io.netty")};

  private Main() {}

  public static void main(String[] args) {
    configureLogging();
    String command = args.length == 0 ? "help" : args[0];
    try {
      switch (command) {
        case "start" -> start(false);
        case "start-dev" -> start(true);
        case "config" -> System.out.print(args.length > 1 && args[1].equals("--markdown")
            ? MailgateConfig.markdownTable() : MailgateConfig.describe());
        case "admin" -> System.exit(Admin.run(loadConfig(), args));
        default -> {
          System.err.println("usage: mailgate start | start-dev | config [--markdown] | admin ...");
          System.err.println(Admin.USAGE);
          System.exit(command.equals("help") ? 0 : 2);
        }
      }
    } catch (ConfigException e) {
      System.err.println("configuration error: " + e.getMessage());
      System.exit(2);
    }
  }

  private static MailgateConfig loadConfig() {
    String file = System.getenv().getOrDefault("MAILGATE_CONFIG", "conf/mailgate.json");
    return MailgateConfig.load(Path.of(file), System.getenv());
  }

  private static void start(boolean dev) {
    MailgateConfig config = loadConfig();
    EmbeddedServices embedded = null;
    if (dev) {
      // start-dev embeds what the environment does not point at explicitly
      boolean pg = System.getenv(MailgateConfig.PG_URL.envName()) == null;
      boolean redis = System.getenv(MailgateConfig.REDIS_URL.envName()) == null;
      try {
        embedded = EmbeddedServices.start(pg, redis, true);
      } catch (RuntimeException e) {
        // zonky's binaries are Linux x86-64's, and initdb's own reason is in its log: say what failed, not a trace
        Logger.getLogger(Main.class.getName()).severe("cannot start the embedded "
            + (pg && redis ? "PostgreSQL and Redis" : pg ? "PostgreSQL" : "Redis")
            + " (start-dev embeds them on Linux x86-64; elsewhere set MAILGATE_PG_URL and MAILGATE_REDIS_URL): "
            + e.getMessage());
        System.exit(1);
      }
      if (pg) {
        config = config.with(MailgateConfig.PG_URL, embedded.pgUrl("mailgate"));
      }
      if (redis) {
        config = config.with(MailgateConfig.REDIS_URL, embedded.redisUrl());
      }
      if (config.get(MailgateConfig.SMTP_SUBMISSION_TLS_CERT).isBlank()) {
        // a dev machine has no certificate: let mailers log in on plain connections
        config = config.with(MailgateConfig.SMTP_SUBMISSION_PLAINTEXT_AUTH, true);
      }
      if (System.getenv(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES.envName()) == null) {
        // a developer's webhook receiver runs on their own machine
        config = config.with(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES, true);
      }
      config = devListeners(config);
    }
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    Logger.getLogger(Main.class.getName()).info(vertx.isNativeTransportEnabled()
        ? "network transport: native (epoll)"
        : "network transport: NIO (" + vertx.unavailableNativeTransportCause() + ")");
    CaptureSink capture = null;
    try {
      if (dev && config.get(MailgateConfig.RELAY_URL).isBlank()) {
        capture = CaptureSink.start(vertx, config.get(MailgateConfig.DEV_CAPTURE_LIMIT))
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        config = capturing(config, capture.port());
      }
      // the wait for the node's previous run (node.idWaitSeconds) comes on top of the rest of the start
      long startTimeout = START_TIMEOUT_SECONDS + Math.max(0, config.get(MailgateConfig.NODE_ID_WAIT_SECONDS));
      MailgateNode node = MailgateNode.start(vertx, config, Clock.systemUTC(), dev)
          .toCompletionStage().toCompletableFuture().get(startTimeout, TimeUnit.SECONDS);
      if (dev) {
        printDevBanner(node.config(), capture != null, webhookSecretGeneration(vertx, node.config()));
      }
      awaitShutdown(vertx, node, capture, embedded);
    } catch (Exception e) {
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      // a start that did not finish has no message of its own: say what it waits on
      String why = cause instanceof java.util.concurrent.TimeoutException
          ? "not started within " + (START_TIMEOUT_SECONDS + Math.max(0, config.get(MailgateConfig.NODE_ID_WAIT_SECONDS)))
              + " s (a database or Redis that does not answer, or a schema "
              + "migration waiting on a lock another session holds: see pg_stat_activity)"
          : cause.getMessage();
      Logger.getLogger(Main.class.getName()).log(Level.SEVERE, "cannot start: " + why,
          cause instanceof ConfigException || cause instanceof java.util.concurrent.TimeoutException ? null : cause);
      vertx.close();
      if (embedded != null) {
        embedded.close();
      }
      System.exit(1);
    }
  }

  /** How long a node may take to start (connections, migrations, verticles), besides node.idWaitSeconds. */
  static final long START_TIMEOUT_SECONDS = 120;

  /** Ctrl-C (SIGINT) or SIGTERM: stop the node cleanly, then Vert.x, then the embedded services. */
  private static void awaitShutdown(Vertx vertx, MailgateNode node, CaptureSink capture, EmbeddedServices embedded)
      throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Logger log = Logger.getLogger(Main.class.getName());
      log.info("shutting down");
      try {
        node.stop().compose(v -> capture == null ? io.vertx.core.Future.<Void>succeededFuture() : capture.close())
            .eventually(vertx::close)
            .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warning("shutdown did not complete cleanly: " + e.getMessage());
      }
      if (embedded != null) {
        embedded.close();
      }
      log.info("stopped");
      if (java.util.logging.LogManager.getLogManager() instanceof ShutdownLogManager m) {
        m.finish();
      }
      done.countDown();
    }, "mailgate-shutdown"));
    done.await();
  }

  /** The development account's webhook secret generation (0 unless it was rotated), for the banner; -1: unknown. */
  private static int webhookSecretGeneration(Vertx vertx, MailgateConfig c) {
    io.vertx.sqlclient.Pool pool = io.mailgate.store.Database.pool(vertx, c, 1);
    try {
      return new io.mailgate.identity.Accounts(pool, null).webhookSecret(c.get(MailgateConfig.DEV_ACCOUNT_ID))
          .map(io.mailgate.identity.Accounts.WebhookSecretState::generation)
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      return -1;
    } finally {
      pool.close();
    }
  }

  private static void printDevBanner(MailgateConfig c, boolean capturing, int webhookGeneration) {
    String relay = io.mailgate.delivery.SmtpRoute.redacted(c.get(MailgateConfig.RELAY_URL));
    String endpoint = "http://127.0.0.1:" + c.get(MailgateConfig.HTTP_PORT);
    System.out.println();
    System.out.println("  Mailgate is running (start-dev)");
    System.out.println("  SES endpoint       " + endpoint + "   (any region)");
    System.out.println("  Access key id      " + c.get(MailgateConfig.DEV_ACCESS_KEY_ID));
    System.out.println("  Secret access key  " + c.get(MailgateConfig.DEV_SECRET_ACCESS_KEY));
    System.out.println("  Outgoing mail      " + (capturing
        ? "captured, see " + endpoint + "/_mailgate/captured"
        : "relayed to " + relay));
    System.out.println("  Message status     " + endpoint + "/_mailgate/messages/{MessageId}");
    System.out.println("  Console            " + endpoint + "/_mailgate/console   (sign in with the key above)");
    if (c.get(MailgateConfig.SMTP_SUBMISSION_PORT) > 0) {
      System.out.println("  SMTP submission    127.0.0.1:" + c.get(MailgateConfig.SMTP_SUBMISSION_PORT)
          + "   user " + c.get(MailgateConfig.DEV_ACCESS_KEY_ID) + ", password "
          + io.mailgate.identity.SmtpCredentials.password(c.get(MailgateConfig.DEV_SECRET_ACCESS_KEY),
              c.get(MailgateConfig.REGION)));
      if (c.get(MailgateConfig.SMTP_SUBMISSION_TLS_PORT) > 0
          && !c.get(MailgateConfig.SMTP_SUBMISSION_TLS_CERT).isBlank()) {
        System.out.println("  SMTP submission    127.0.0.1:" + c.get(MailgateConfig.SMTP_SUBMISSION_TLS_PORT)
            + "   implicit TLS, the same user and password");
      }
    }
    if (c.get(MailgateConfig.SMTP_INBOUND_PORT) > 0) {
      System.out.println("  Inbound SMTP       127.0.0.1:" + c.get(MailgateConfig.SMTP_INBOUND_PORT)
          + "   (bounces; mail for verified domains with an active receipt rule set)");
    }
    String masterKey = c.get(MailgateConfig.SECURITY_MASTER_KEY);
    System.out.println("  Webhook secret     " + (webhookGeneration < 0
        ? "(could not be read: ./mailgate admin account webhook-secret " + c.get(MailgateConfig.DEV_ACCOUNT_ID) + ")"
        : new io.mailgate.events.WebhookSigner(io.mailgate.identity.SecretBox
            .fromBase64(masterKey.isBlank() ? MailgateNode.DEV_MASTER_KEY : masterKey)).secret(
                c.get(MailgateConfig.DEV_ACCOUNT_ID), webhookGeneration) + "   (event and receipt webhooks are signed with it)"));
    System.out.println("  Ctrl-C stops everything.");
    System.out.println();
    if (exposed(c)) {
      Logger.getLogger(Main.class.getName()).warning("start-dev listens beyond this machine (http.host "
          + c.get(MailgateConfig.HTTP_HOST) + ", smtp.submissionHost " + c.get(MailgateConfig.SMTP_SUBMISSION_HOST)
          + ") with the published development secret: anyone who can reach it can use its API and console"
          + (capturing ? ", and have it post webhooks to addresses of your network" : " and send through " + relay)
          + ". Set MAILGATE_DEV_SECRET_ACCESS_KEY to a secret of your own, or leave MAILGATE_HTTP_HOST and "
          + "MAILGATE_SMTP_SUBMISSION_HOST unset (start-dev then listens on 127.0.0.1).");
    }
  }

  /**
   * start-dev listens on this machine only unless the configuration names an address: the secret that signs its
   * requests is published in the README, and it posts webhooks to private addresses. A container (docker/compose.yaml)
   * names 0.0.0.0, where the port mapping is the boundary.
   */
  static MailgateConfig devListeners(MailgateConfig c) {
    for (io.mailgate.config.ConfigKey<String> host : java.util.List.of(MailgateConfig.HTTP_HOST,
        MailgateConfig.SMTP_SUBMISSION_HOST, MailgateConfig.SMTP_INBOUND_HOST)) {
      if (!c.isSet(host)) {
        c = c.with(host, "127.0.0.1");
      }
    }
    return c;
  }

  /**
   * start-dev capturing mail: every message goes to the capture sink, whatever delivery mode or sending pools the
   * configuration names. The banner says "captured", identities verify themselves and the account may send to anyone:
   * a direct mode or a pool's route would deliver that mail to the internet.
   */
  static MailgateConfig capturing(MailgateConfig c, int sinkPort) {
    Logger log = Logger.getLogger(Main.class.getName());
    if (!c.get(MailgateConfig.DELIVERY_MODE).isBlank() && !c.get(MailgateConfig.DELIVERY_MODE).equals("relay")) {
      log.warning("start-dev captures mail (MAILGATE_RELAY_URL is not set): delivery.mode "
          + c.get(MailgateConfig.DELIVERY_MODE) + " is not used");
    }
    String sink = "smtp://127.0.0.1:" + sinkPort;
    // the pools keep their names (configuration sets name them, and the API checks the names) and lead to the sink
    java.util.Set<String> pools = io.mailgate.delivery.SendingPools.parse(
        c.get(MailgateConfig.DELIVERY_SENDING_POOLS)).names();
    if (!pools.isEmpty()) {
      log.warning("start-dev captures mail (MAILGATE_RELAY_URL is not set): the sending pools of "
          + "delivery.sendingPools (" + String.join(", ", pools) + ") deliver to the capture sink too");
    }
    if (!c.get(MailgateConfig.DELIVERY_SOURCE_ADDRESSES).isBlank()) {
      log.warning("start-dev captures mail (MAILGATE_RELAY_URL is not set): delivery.sourceAddresses is not used");
    }
    // the sink is on loopback: the sources (the pools' are dropped with their routes) are for the way out
    return c.with(MailgateConfig.RELAY_URL, sink)
        .with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "")
        .with(MailgateConfig.DELIVERY_MODE, "relay")
        .with(MailgateConfig.DELIVERY_SENDING_POOLS,
            pools.stream().map(name -> name + "=" + sink).collect(java.util.stream.Collectors.joining(",")));
  }

  /** start-dev with the README's secret, listening on more than loopback: whoever reads the README can use it. */
  static boolean exposed(MailgateConfig c) {
    return c.get(MailgateConfig.DEV_SECRET_ACCESS_KEY).equals(MailgateConfig.DEV_SECRET_ACCESS_KEY.defaultValue())
        && !(NetAddresses.isLoopbackName(c.get(MailgateConfig.HTTP_HOST))
            && (c.get(MailgateConfig.SMTP_SUBMISSION_PORT) <= 0
                || NetAddresses.isLoopbackName(c.get(MailgateConfig.SMTP_SUBMISSION_HOST))));
  }

  private static void configureLogging() {
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$-7s %3$s: %5$s%6$s%n");
    }
    for (Logger l : QUIET) {
      l.setLevel(Level.WARNING);
    }
  }
}
