package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the operator's changes, and start-dev's account at each start, do to an account's reputation status. */
class AccountsTest {
  private String url;
  private Vertx vertx;
  private Accounts accounts;
  /** What the owner's PutAccountSendingAttributes calls. */
  private AccountDirectory owners;

  @BeforeEach
  void setUp() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    io.vertx.sqlclient.Pool pool = TestServices.migratedPool(vertx, url, 2);
    SecretBox secrets = SecretBox.fromBase64(TestNode.MASTER_KEY);
    accounts = new Accounts(pool, secrets);
    owners = new AccountDirectory(pool, java.time.Clock.systemUTC(), secrets,
        new AccountDirectory.SandboxLimits(1, 200), 0);
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /**
   * Whether the account sends (none of its owner, an operator and reputation enforcement paused it), its status,
   * whether its window is old.
   */
  private String status(String id) {
    return Db.string(url, "SELECT (sending_enabled AND NOT paused_by_operator AND enforcement_status <> 'SHUTDOWN') "
        + "|| ' ' || enforcement_status || ' ' || (reputation_since = '-infinity') FROM accounts "
        + "WHERE id = '" + id + "'");
  }

  /** What reputation enforcement writes when it shuts an account down (ReputationVerticle): its status alone. */
  private void shutDown(String id) {
    Db.execute(url, "UPDATE accounts SET enforcement_status = 'SHUTDOWN' WHERE id = '" + id + "'");
  }

  /** start-dev's account, shut down by reputation enforcement, stays paused across restarts, until it is not. */
  @Test
  void aShutDownDevAccountStaysPausedAtTheNextStart() throws Exception {
    Account dev = new Account("111111111111", "dev", 10, 1000, true, true);
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    shutDown("111111111111");
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret")); // the node starts again
    assertEquals("false SHUTDOWN true", status("111111111111"));

    Db.execute(url, "UPDATE accounts SET enforcement_status = 'PROBATION' WHERE id = '111111111111'");
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    assertEquals("true PROBATION true", status("111111111111"));
  }

  /** start-dev's account, paused by an operator, stays paused across restarts: its owner could not resume it either. */
  @Test
  void anOperatorsPauseOfTheDevAccountHoldsAtTheNextStart() throws Exception {
    Account dev = new Account("111111111111", "dev", 10, 1000, true, true);
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    await(accounts.update("111111111111", null, null, null, false));
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret")); // the node starts again
    assertEquals("false HEALTHY true", status("111111111111"));
    assertEquals("true", Db.string(url, "SELECT paused_by_operator::text FROM accounts WHERE id = '111111111111'"));

    await(accounts.update("111111111111", null, null, null, true)); // only the operator lifts it
    assertEquals("false", Db.string(url, "SELECT paused_by_operator::text FROM accounts WHERE id = '111111111111'"));
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    assertEquals("true HEALTHY false", status("111111111111"));
  }

  /**
   * start-dev's account, paused by its owner, stays paused across restarts on a database that outlives them: the
   * owner's choice is the account's state like any other, which the next start does not reset.
   */
  @Test
  void anOwnersPauseOfTheDevAccountHoldsAtTheNextStart() throws Exception {
    Account dev = new Account("111111111111", "dev", 10, 1000, true, true);
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    assertEquals(AccountDirectory.SendingChange.DONE, await(owners.setSendingEnabled("111111111111", false)));
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret")); // the node starts again
    assertEquals("false HEALTHY true", status("111111111111"));
    assertEquals(List.of(List.of("owner")),
        await(accounts.list()).stream().map(Accounts.AccountRow::pausedBy).toList());

    assertEquals(AccountDirectory.SendingChange.DONE, await(owners.setSendingEnabled("111111111111", true)));
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    assertEquals("true HEALTHY true", status("111111111111"));
  }

  /**
   * {@code --sending true} lifts a reputation shutdown and nothing else: a pause the owner made before the shutdown
   * (or during it) still holds, the owner's to lift (or the next {@code --sending true}'s). A shutdown alone, lifted,
   * leaves the account sending.
   */
  @Test
  void liftingAShutdownLeavesTheOwnersPause() throws Exception {
    String paused = await(accounts.create("paused-then-shut-down", 14, 50_000, true)).accountId();
    String shutOnly = await(accounts.create("shut-down-only", 14, 50_000, true)).accountId();
    assertEquals(AccountDirectory.SendingChange.DONE, await(owners.setSendingEnabled(paused, false)));
    shutDown(paused);
    shutDown(shutOnly);
    assertEquals(List.of(List.of("reputation", "owner"), List.of("reputation")),
        await(accounts.list()).stream().map(Accounts.AccountRow::pausedBy).toList());
    // the owner cannot resume out of a shutdown: refused, its pause kept
    assertEquals(AccountDirectory.SendingChange.SHUT_DOWN, await(owners.setSendingEnabled(paused, true)));

    Accounts.AccountRow lifted = await(accounts.update(paused, null, null, null, true));
    assertFalse(lifted.sendingEnabled());
    assertEquals(List.of("owner"), lifted.pausedBy());
    assertEquals("false HEALTHY false", status(paused)); // the shutdown lifted: a fresh window
    Accounts.AccountRow alone = await(accounts.update(shutOnly, null, null, null, true));
    assertTrue(alone.sendingEnabled());
    assertEquals(List.of(), alone.pausedBy());
    assertEquals("true HEALTHY false", status(shutOnly));

    assertEquals(AccountDirectory.SendingChange.DONE, await(owners.setSendingEnabled(paused, true)));
    assertEquals("true HEALTHY false", status(paused));
  }

  /**
   * {@code --sending true} while the operator's pause holds lifts that pause and nothing else: the owner's own pause
   * stays, and so does a reputation shutdown, which the next {@code --sending true} lifts. With no operator's pause, it
   * resumes the account as it always did, also one paused before anything recorded who paused it.
   */
  @Test
  void sendingTrueLiftsTheOperatorsPauseOnly() throws Exception {
    String owners = await(accounts.create("paused-by-its-owner", 14, 50_000, true)).accountId();
    String shutDown = await(accounts.create("shut-down", 14, 50_000, true)).accountId();
    String old = await(accounts.create("paused-before-v33", 14, 50_000, true)).accountId();
    Db.execute(url, "UPDATE accounts SET sending_enabled = false, paused_by_operator = true WHERE id = '"
        + owners + "'");
    Db.execute(url, "UPDATE accounts SET enforcement_status = 'SHUTDOWN', paused_by_operator = true WHERE id = '"
        + shutDown + "'");
    Db.execute(url, "UPDATE accounts SET sending_enabled = false WHERE id = '" + old + "'");
    assertEquals(List.of(List.of("operator", "owner"), List.of("operator", "reputation"), List.of("owner")),
        await(accounts.list()).stream().map(Accounts.AccountRow::pausedBy).toList());

    Accounts.AccountRow lifted = await(accounts.update(owners, null, null, null, true));
    assertFalse(lifted.sendingEnabled());
    assertEquals(List.of("owner"), lifted.pausedBy());
    assertEquals("false HEALTHY false", status(owners)); // the operator's pause lifted: a fresh window

    assertEquals(List.of("reputation"), await(accounts.update(shutDown, null, null, null, true)).pausedBy());
    assertEquals("false SHUTDOWN true", status(shutDown));
    Accounts.AccountRow resumed = await(accounts.update(shutDown, null, null, null, true));
    assertTrue(resumed.sendingEnabled());
    assertEquals(List.of(), resumed.pausedBy());
    assertEquals("true HEALTHY false", status(shutDown));

    assertTrue(await(accounts.update(old, null, null, null, true)).sendingEnabled());
    assertEquals("true HEALTHY false", status(old));
  }

  /** A development key an operator disabled (`admin key disable`) is not enabled again by the next start. */
  @Test
  void aDisabledDevKeyStaysDisabledAtTheNextStart() throws Exception {
    Account dev = new Account("111111111111", "dev", 10, 1000, true, true);
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret"));
    await(accounts.setKeyEnabled("AKIATESTMAILGATE0001", false));
    await(accounts.upsert(dev, "AKIATESTMAILGATE0001", "secret")); // the node starts again
    assertEquals("false", Db.string(url, "SELECT enabled::text FROM access_keys WHERE access_key_id = "
        + "'AKIATESTMAILGATE0001'"));
  }

  /**
   * {@code --sending true} resumes a paused or shut down account (a fresh window); for an account that was sending it
   * changes nothing, so passed with another change it keeps a PROBATION and its window.
   */
  @Test
  void sendingTrueResetsReputationOnlyWhenItResumes() throws Exception {
    String probation = await(accounts.create("on-probation", 14, 50_000, true)).accountId();
    String shutDown = await(accounts.create("shut-down", 14, 50_000, true)).accountId();
    String paused = await(accounts.create("paused-by-its-owner", 14, 50_000, true)).accountId();
    Db.execute(url, "UPDATE accounts SET enforcement_status = 'PROBATION' WHERE id = '" + probation + "'");
    shutDown(shutDown);
    Db.execute(url, "UPDATE accounts SET enforcement_status = 'PROBATION', sending_enabled = false WHERE id = '"
        + paused + "'");

    await(accounts.update(probation, 50.0, null, null, true));
    assertEquals("true PROBATION true", status(probation));
    assertEquals(50, Db.count(url, "SELECT max_send_rate FROM accounts WHERE id = '" + probation + "'"));

    await(accounts.update(shutDown, null, null, null, true));
    assertEquals("true HEALTHY false", status(shutDown));
    await(accounts.update(paused, null, null, null, true));
    assertEquals("true HEALTHY false", status(paused));
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.await(20, TimeUnit.SECONDS);
  }
}
