package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.TcpProxy;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Open and Click events as the tracking endpoints record them: at most {@link TrackingStore#MAX_PER_MESSAGE} of each
 * per message, however often its links are fetched, and read back no more than that beside the message's other
 * events; a hit PostgreSQL refuses fails alone; a batch whose commit answer was lost is not written a second time.
 */
class TrackingStoreTest extends MigratedDatabase {
  private static final int CAP = TrackingStore.MAX_PER_MESSAGE;

  @BeforeAll
  static void setUp() {
    open(2);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
    Db.execute(url, "INSERT INTO configuration_sets (account_id, name) VALUES ('a1', 'cs')");
    Db.execute(url, "INSERT INTO event_destinations (id, account_id, configuration_set, name, enabled, event_types, "
        + "url) VALUES (1, 'a1', 'cs', 'hook', true, '{Open,Click,Bounce}', 'http://127.0.0.1:1/hook')");
  }

  private static void message(String id) {
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, configuration_set, content, size, "
        + "created_at) VALUES ('" + id + "', 'a1', 's@example.com', 's@example.com', 'cs', 'x', 1, now() - interval "
        + "'1 hour')");
  }

  private static TrackingStore.Hit hit(String messageId, String type, String n) {
    return new TrackingStore.Hit(messageId, type, "{\"n\":\"" + n + "\"}", Instant.now());
  }

  /** The hits' statement, as one batch. */
  private static void insert(List<TrackingStore.Hit> hits) throws Exception {
    await(pool.preparedQuery(TrackingStore.INSERT).execute(Tuple.of(
        hits.stream().map(TrackingStore.Hit::messageId).toArray(String[]::new),
        hits.stream().map(TrackingStore.Hit::type).toArray(String[]::new),
        hits.stream().map(TrackingStore.Hit::detailJson).toArray(String[]::new),
        hits.stream().map(h -> OffsetDateTime.ofInstant(h.at(), ZoneOffset.UTC)).toArray(OffsetDateTime[]::new))));
  }

  private static long events(String messageId, String type) {
    return Db.count(url, "SELECT count(*) FROM events WHERE message_id = '" + messageId + "' AND type = '" + type
        + "'");
  }

  private static long published(String messageId, String type) {
    return Db.count(url, "SELECT count(*) FROM event_outbox WHERE message_id = '" + messageId + "' AND type = '"
        + type + "'");
  }

  /** Each hit submitted from the event loop at once (the first two go alone, the others together); their outcomes. */
  private static List<Future<Void>> recordAll(TrackingStore store, List<TrackingStore.Hit> hits) throws Exception {
    Promise<List<Future<Void>>> submitted = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> {
      List<Future<Void>> all = new ArrayList<>();
      hits.forEach(h -> all.add(store.record(h)));
      submitted.complete(all);
    });
    List<Future<Void>> all = await(submitted.future());
    await(Future.join(all).otherwiseEmpty());
    return all;
  }

  @Test
  void aMessageRecordsAtMostTheCapOfOpensAndOfClicks() throws Exception {
    message("looped");
    message("other");
    // recorded before: ten short of the cap (the events, and their count)
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, detail, created_at) "
        + "SELECT 'looped', 'a1', 'Open', '{}', now() FROM generate_series(1, " + (CAP - 10) + ")");
    Db.execute(url, "INSERT INTO tracking_counts (message_id, type, n) VALUES ('looped', 'Open', " + (CAP - 10) + ")");
    List<TrackingStore.Hit> batch = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      batch.add(hit("looped", "Open", "o" + i));
    }
    for (int i = 0; i < 3; i++) {
      batch.add(hit("looped", "Click", "c" + i));
      batch.add(hit("other", "Open", "x" + i));
    }
    insert(batch);
    assertEquals(CAP, events("looped", "Open"));
    assertEquals(10, published("looped", "Open"), "the first ten of the batch");
    assertEquals(Map.of("o0", 1L, "o1", 1L, "o2", 1L, "o3", 1L, "o4", 1L, "o5", 1L, "o6", 1L, "o7", 1L, "o8", 1L,
        "o9", 1L), counted("SELECT detail->>'n', count(*) FROM event_outbox WHERE message_id = 'looped' "
        + "AND type = 'Open' GROUP BY 1"));
    assertEquals(3, events("looped", "Click"), "clicks have their own cap");
    assertEquals(3, events("other", "Open"), "other messages' hits in the batch are not held back");

    // through the store: answered, not recorded
    List<TrackingStore.Hit> more = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      more.add(hit("looped", "Open", "late" + i));
    }
    List<Future<Void>> outcomes = recordAll(new TrackingStore(vertx, pool), more);
    assertTrue(outcomes.stream().allMatch(Future::succeeded), "a hit past the cap is not a failure");
    assertEquals(CAP, events("looped", "Open"));
    assertEquals(10, published("looped", "Open"));
  }

  /**
   * Once an instance has found a message's Clicks full, it answers more of them without a statement (here with the
   * database out of reach); its Opens, not full, still need the database.
   */
  @Test
  void hitsOfAMessageKnownToBeFullNeedNoStatement() throws Exception {
    message("hammered");
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, detail, created_at) "
        + "SELECT 'hammered', 'a1', 'Click', '{}', now() FROM generate_series(1, " + CAP + ")");
    Db.execute(url, "INSERT INTO tracking_counts (message_id, type, n) VALUES ('hammered', 'Click', " + CAP + ")");
    try (TcpProxy proxy = TcpProxy.toDatabase(url)) {
      Pool proxied = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, proxy.databaseUrl()),
          2);
      TrackingStore store = new TrackingStore(vertx, proxied);
      assertTrue(recordAll(store, List.of(hit("hammered", "Click", "learns"))).get(0).succeeded());
      proxy.cut();
      List<TrackingStore.Hit> more = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        more.add(hit("hammered", "Click", "more" + i));
      }
      assertTrue(recordAll(store, more).stream().allMatch(Future::succeeded), "answered without a statement");
      assertTrue(recordAll(store, List.of(hit("hammered", "Open", "o"))).get(0).failed(), "Opens are not full");
      assertEquals(CAP, events("hammered", "Click"));
      await(proxied.close());
    }
  }

  /**
   * A message opened more often than the cap before there was one: its status and insights read the first Opens up
   * to the cap, and all of its other events, recorded after them too.
   */
  @Test
  void aMessagesOtherEventsAreReadWhateverItsOpens() throws Exception {
    message("read");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at, "
        + "delivered_at) VALUES ('read', 0, 'r@example.org', 'delivered', now(), now(), "
        + "now() - interval '50 minutes')");
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, detail, created_at) "
        + "SELECT 'read', 'a1', 'Open', jsonb_build_object('i', i), "
        + "now() - interval '40 minutes' + i * interval '1 ms' "
        + "FROM generate_series(1, " + (CAP + 500) + ") i");
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, detail, created_at) "
        + "SELECT 'read', 'a1', 'Click', '{}', now() - interval '30 minutes' FROM generate_series(1, 3)");
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, recipient, detail, created_at) "
        + "VALUES ('read', 'a1', 'Complaint', 'r@example.org', '{}', now() - interval '20 minutes')");
    Optional<MessageQuery.StoredMessage> found = await(new MessageQuery(pool).find("a1", "read"));
    List<MessageQuery.StoredEvent> events = found.orElseThrow().events();
    Map<String, Long> byType = events.stream()
        .collect(Collectors.groupingBy(MessageQuery.StoredEvent::type, Collectors.counting()));
    assertEquals(Map.of("Send", 1L, "Delivery", 1L, "Open", (long) CAP, "Click", 3L, "Complaint", 1L), byType);
    assertEquals(1, events.stream().filter(e -> e.type().equals("Open")).findFirst().orElseThrow()
        .detail().getInteger("i"), "the first ones");
    assertEquals("Complaint", events.get(events.size() - 1).type(), "in time order");
  }

  @Test
  void aHitTheDatabaseRefusesFailsAloneAndTheOthersAreRecorded() throws Exception {
    message("refused");
    List<TrackingStore.Hit> hits = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      hits.add(i == 7 ? new TrackingStore.Hit("refused", "Click", "{not json", Instant.now())
          : hit("refused", "Click", "k" + i));
    }
    List<Future<Void>> outcomes = recordAll(new TrackingStore(vertx, pool), hits);
    for (int i = 0; i < hits.size(); i++) {
      assertEquals(i != 7, outcomes.get(i).succeeded(), "hit " + i);
    }
    assertEquals(11, events("refused", "Click"));
    assertEquals(11, published("refused", "Click"));
  }

  /** With the database out of reach, no hit is said to be recorded: the reader's answer is counted as unrecorded. */
  @Test
  void aHitNotWrittenIsNotSaidToBe() throws Exception {
    try (TcpProxy proxy = TcpProxy.toDatabase(url)) {
      Pool proxied = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, proxy.databaseUrl()),
          2);
      proxy.cut();
      message("unreachable");
      List<TrackingStore.Hit> hits = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        hits.add(hit("unreachable", "Click", "u" + i));
      }
      List<Future<Void>> outcomes = recordAll(new TrackingStore(vertx, proxied), hits);
      assertEquals(0, events("unreachable", "Click"));
      for (int i = 0; i < hits.size(); i++) {
        assertTrue(outcomes.get(i).failed(), "hit " + i);
      }
      await(proxied.close());
    }
  }

  /**
   * A batch committed whose answer never came (its connection dropped in between): its hits fail, and are not
   * written again on another connection, which would record each of them twice.
   */
  @Test
  void aBatchWhoseCommitAnswerWasLostIsNotWrittenAgain() throws Exception {
    message("lost");
    // the Opens of message "lost" wait, inside their statement, while this test holds advisory lock 4242
    Db.execute(url, "CREATE FUNCTION held() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + "PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$");
    Db.execute(url, "CREATE TRIGGER held BEFORE INSERT ON events FOR EACH ROW WHEN (NEW.message_id = 'lost') "
        + "EXECUTE FUNCTION held()");
    String jdbc = "jdbc:" + url.replace("postgresql://postgres@", "postgresql://");
    try (TcpProxy proxy = TcpProxy.toDatabase(url);
         Connection locker = DriverManager.getConnection(jdbc, "postgres", "");
         Statement lock = locker.createStatement()) {
      // two connections, a statement at a time on each: what the batch's leaves undone can go on the other
      Pool proxied = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, proxy.databaseUrl())
          .with(MailgateConfig.PG_PIPELINING_LIMIT, 1), 2);
      TrackingStore store = new TrackingStore(vertx, proxied);
      lock.execute("SELECT pg_advisory_lock(4242)");
      // the first two hits go alone (of a message that is not there: done at once); the other ten together, after
      List<TrackingStore.Hit> hits = new ArrayList<>();
      hits.add(hit("no-such-message", "Open", "a"));
      hits.add(hit("no-such-message", "Open", "b"));
      for (int i = 0; i < 10; i++) {
        hits.add(hit("lost", "Open", "h" + i));
      }
      Promise<List<Future<Void>>> submitted = Promise.promise();
      vertx.getOrCreateContext().runOnContext(v -> {
        List<Future<Void>> all = new ArrayList<>();
        hits.forEach(h -> all.add(store.record(h)));
        submitted.complete(all);
      });
      List<Future<Void>> outcomes = await(submitted.future());
      long port = Await.until(() -> Db.count(url, "SELECT coalesce(max(client_port), 0) FROM pg_stat_activity "
          + "WHERE datname = current_database() AND wait_event = 'advisory'"), p -> p > 0, Duration.ofSeconds(10));
      proxy.loseAnswers((int) port, 1_000); // that connection's; the pool's other one goes on working
      lock.execute("SELECT pg_advisory_unlock(4242)"); // the batch commits; its answer is lost
      await(Future.join(outcomes).otherwiseEmpty());
      assertEquals(Map.of(), counted("SELECT detail->>'n', count(*) FROM events WHERE message_id = 'lost' "
          + "GROUP BY 1 HAVING count(*) > 1"), "hits recorded twice");
      assertEquals(10, events("lost", "Open"), "the batch was committed once");
      for (int i = 2; i < 12; i++) {
        assertTrue(outcomes.get(i).failed(), "not known to be recorded: hit " + i);
      }
      await(proxied.close());
    } finally {
      Db.execute(url, "DROP TRIGGER held ON events");
      Db.execute(url, "DROP FUNCTION held()");
    }
  }

  /** The first column of the query's rows and the second, a count. */
  private static Map<String, Long> counted(String sql) {
    Map<String, Long> found = new TreeMap<>();
    String jdbc = "jdbc:" + url.replace("postgresql://postgres@", "postgresql://");
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        found.put(rs.getString(1), rs.getLong(2));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return found;
  }
}
