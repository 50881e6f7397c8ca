package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code mailgate admin}: what an operator types, what it prints, what it changes. */
public class AdminTest {
  final String pg = TestServices.freshDatabase();
  final MailgateConfig config = MailgateConfig.defaults().with(MailgateConfig.PG_URL, pg)
      .with(MailgateConfig.SECURITY_MASTER_KEY, TestNode.MASTER_KEY);

  public record Run(int code, String out, String err) {}

  Run admin(String... args) {
    return admin(config, args);
  }

  /** The command run with {@code config} (a node's, say): what it printed, what it exited with. */
  public static Run admin(MailgateConfig config, String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      String[] all = new String[args.length + 1];
      all[0] = "admin";
      System.arraycopy(args, 0, all, 1, args.length);
      int code = Admin.run(config, all);
      return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  @Test
  void accountsAndKeys() {
    Run created = admin("account", "create", "team-a");
    assertEquals(0, created.code(), created.err());
    Matcher m = Pattern.compile("account (\\d{12}) created \\(sandbox\\)\\s+access key id\\s+(AKIA[A-Z2-7]{16})\\s+"
        + "secret access key\\s+(\\S{40})").matcher(created.out());
    assertTrue(m.find(), created.out());
    String account = m.group(1);
    String key = m.group(2);
    String secret = m.group(3);
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM access_keys WHERE position(convert_to('"
        + secret.substring(0, 10).replace("'", "''") + "', 'UTF8') IN secret) > 0"), "the secret is not stored in clear");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM access_keys WHERE access_key_id = '" + key + "'"));

    Run list = admin("account", "list");
    assertTrue(list.out().contains(account) && list.out().contains("team-a") && list.out().contains("sandbox"), list.out());
    // the limits in force are listed: the sandbox's (1/s, 200 a day), or the account's own where lower
    assertTrue(list.out().matches("(?s).*" + account + "  team-a\\s+1\\.0\\s+200\\s+sandbox.*"), list.out());
    assertEquals(0, admin("account", "set", account, "--max-24-hour-send", "20").code());
    assertTrue(admin("account", "list").out().matches("(?s).*" + account + "  team-a\\s+1\\.0\\s+20\\s+sandbox.*"));

    assertEquals(0, admin("account", "set", account, "--production", "true", "--max-send-rate", "42").code());
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM accounts WHERE id = '" + account
        + "' AND production_access AND max_send_rate = 42"));

    Run second = admin("key", "create", account);
    assertEquals(0, second.code(), second.err());
    Run keys = admin("key", "list", account);
    assertEquals(3, keys.out().strip().split("\n").length, keys.out());
    assertEquals(0, admin("key", "disable", key).code());
    assertTrue(admin("key", "list").out().contains(key + "  " + account + "  disabled"));

    Run production = admin("account", "create", "team-b", "--production", "--max-24-hour-send", "1000");
    assertTrue(production.out().contains("(production)"), production.out());
  }

  /** The global list is the operator's to edit: accounts can only look it up. */
  @Test
  void globalSuppression() {
    assertEquals(0, admin("account", "list").code()); // migrations
    Db.execute(pg, "INSERT INTO global_suppression (email, last_bounce) VALUES ('dead@example.org', now())");
    Run show = admin("suppression", "show", "Dead@Example.org");
    assertEquals(0, show.code(), show.err());
    assertTrue(show.out().contains("dead@example.org is on the global suppression list"), show.out());
    Run removed = admin("suppression", "remove", "dead@example.org");
    assertTrue(removed.out().contains("removed"), removed.out());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression"));
    assertTrue(admin("suppression", "show", "dead@example.org").out().contains("is not on"));
    assertTrue(admin("suppression", "remove", "dead@example.org").out().contains("was not on"));
    Run bad = admin("suppression", "remove", "no address\r\nBcc: x@example.org");
    assertEquals(2, bad.code(), bad.out());
  }

  @Test
  void mistakesAreExplained() {
    Run unknown = admin("account", "explode");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("unknown admin command"), unknown.err());
    Run missing = admin("key", "disable", "AKIANOSUCHKEY0000000");
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("no access key"), missing.err());
    Run badNumber = admin("account", "create", "x", "--max-send-rate", "fast");
    assertEquals(2, badNumber.code());
    assertFalse(badNumber.err().isEmpty());
    assertEquals(2, admin("account", "create", "x", "--max-send-rate", "0").code());
    assertEquals(2, admin("account", "create", "x", "--max-24-hour-send", "-5").code());
  }

  @Test
  void productionFalseIsTheSandbox() {
    Run sandboxed = admin("account", "create", "team-s", "--production", "false");
    assertEquals(0, sandboxed.code(), sandboxed.err());
    assertTrue(sandboxed.out().contains("(sandbox)"), sandboxed.out());
    Run production = admin("account", "create", "team-p", "--production");
    assertTrue(production.out().contains("(production)"), production.out());
  }

  /**
   * start-dev pointed at another installation's database (MAILGATE_PG_URL) does not add its account, with the
   * published key, to it: the database's secrets do not open under start-dev's master key.
   */
  @Test
  void startDevRefusesADatabaseWhoseSecretsAnotherKeySealed() {
    assertEquals(0, admin("account", "create", "production-tenant").code());
    IllegalStateException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> TestNode.start(pg, TestServices.uniquePrefix(), "",
            c -> c.with(MailgateConfig.SECURITY_MASTER_KEY, "YW5vdGhlci1tYXN0ZXIta2V5LWZvci10aGUtdGVzdCE="), true).close());
    assertTrue(refused.getMessage().contains("another master key"), refused.getMessage());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM access_keys WHERE access_key_id = '" + TestNode.ACCESS_KEY
        + "'"), "no development key planted");
  }

  /**
   * A production node started with another master key than the database's secrets were sealed under refuses to start,
   * rather than come up ready and answer every signed request 403 (and sign envelope senders no node can check).
   */
  @Test
  void aNodeWhoseMasterKeyDoesNotOpenTheDatabaseDoesNotStart() {
    assertEquals(0, admin("account", "create", "tenant-m").code());
    IllegalStateException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> TestNode.start(pg, TestServices.uniquePrefix(), "",
            c -> c.with(MailgateConfig.SECURITY_MASTER_KEY, "YW5vdGhlci1tYXN0ZXIta2V5LWZvci10aGUtdGVzdCE="), false).close());
    assertTrue(refused.getMessage().contains("does not open the secrets"), refused.getMessage());
  }

  /** Run without the nodes' master key (start-dev's is the fallback), the command refuses to touch their secrets. */
  @Test
  void anotherMasterKeyThanTheNodesIsRefused() {
    assertEquals(0, admin("account", "create", "team-k").code());
    Run run = admin(MailgateConfig.defaults().with(MailgateConfig.PG_URL, pg), "key", "list");
    assertEquals(1, run.code());
    assertTrue(run.err().contains("does not open this database's secrets"), run.err());
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM access_keys"), "nothing written");
  }

  /**
   * Without a master key on a database that has no secrets yet (a production one being set up), the command refuses:
   * start-dev's key would seal the first tenant's secret under a key published with the source.
   */
  @Test
  void theDevelopmentKeyDoesNotSealAFreshDatabasesSecrets() {
    Run run = admin(MailgateConfig.defaults().with(MailgateConfig.PG_URL, pg), "account", "create", "first");
    assertEquals(1, run.code(), run.err());
    assertTrue(run.err().contains("security.masterKey"), run.err());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM accounts WHERE name = 'first'"), "nothing written");
  }

  /** An option the command does not take is a usage error, not left out; so is a rate that is no finite number. */
  @Test
  void misspeltOptionsAndInfiniteRatesAreRefused() {
    Run typo = admin("account", "create", "typo", "--max-sendrate", "5");
    assertEquals(2, typo.code(), typo.out());
    assertTrue(typo.err().contains("has no option --max-sendrate"), typo.err());
    Run notHere = admin("account", "create", "typo", "--sending", "false");
    assertEquals(2, notHere.code(), notHere.out());
    Run infinite = admin("account", "create", "typo", "--max-send-rate", "Infinity");
    assertEquals(2, infinite.code(), infinite.out());
    Run empty = admin("account", "create", " ");
    assertEquals(2, empty.code(), empty.out());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM accounts WHERE name IN ('typo', ' ')"), "nothing created");
  }

  @Test
  void webhookSecretsArePrintedAndRotated() {
    Run created = admin("account", "create", "hooks");
    Matcher m = Pattern.compile("account (\\d{12}) created").matcher(created.out());
    assertTrue(m.find(), created.out());
    String account = m.group(1);
    io.mailgate.events.WebhookSigner signer = new io.mailgate.events.WebhookSigner(
        io.mailgate.identity.SecretBox.fromBase64(TestNode.MASTER_KEY));
    Run shown = admin("account", "webhook-secret", account);
    assertEquals(0, shown.code(), shown.err());
    assertTrue(shown.out().startsWith(signer.secret(account, 0) + "\n"), shown.out());

    Run rotated = admin("account", "webhook-secret", account, "--rotate", "--grace-hours", "2");
    assertEquals(0, rotated.code(), rotated.err());
    assertTrue(rotated.out().startsWith(signer.secret(account, 1) + "\n"), rotated.out());
    assertTrue(rotated.out().contains("also with the previous secret " + signer.secret(account, 0)), rotated.out());
    // a destination's own secret, of the generation that signs now, and during the grace the previous one's
    String url = "https://hooks.example.com/ses?token=1";
    Run destination = admin("account", "webhook-secret", account, "--url", url);
    assertEquals(0, destination.code(), destination.err());
    assertTrue(destination.out().startsWith(signer.secret(account, 1, url) + "\n"), destination.out());
    assertTrue(destination.out().contains("the posts to " + url + " of account " + account), destination.out());
    assertTrue(destination.out().contains("also with the previous secret " + signer.secret(account, 0, url)),
        destination.out());
    assertEquals(2, admin("account", "webhook-secret", account, "--url").code(), "--url needs a value");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM accounts WHERE id = '" + account + "' AND "
        + "webhook_previous_until BETWEEN now() + interval '119 minutes' AND now() + interval '121 minutes'"));
    // again during the grace period: the secret before would stop at once, so only with --force
    Run refused = admin("account", "webhook-secret", account, "--rotate");
    assertEquals(2, refused.code(), refused.out());
    assertTrue(refused.err().contains("grace period"), refused.err());
    assertEquals(1, Db.count(pg, "SELECT webhook_secret_generation FROM accounts WHERE id = '" + account + "'"));
    // forced, and without a grace period: the previous secret stops at once
    Run again = admin("account", "webhook-secret", "--rotate", account, "--grace-hours", "0", "--force");
    assertTrue(again.out().startsWith(signer.secret(account, 2) + "\n"), again.out());
    assertFalse(again.out().contains("previous"), again.out());

    assertEquals(2, admin("account", "webhook-secret", account, "--grace-hours", "2").code(), "only with --rotate");
    assertEquals(2, admin("account", "webhook-secret", account, "--rotate", "--grace-hours", "-1").code());
    assertEquals(2, admin("account", "webhook-secret", "999999999999").code());
  }
}
