package io.mailgate.store;

import io.mailgate.Buffers;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.function.Function;

/**
 * Commits accepted messages. Concurrent sends are grouped ({@link GroupCommit}) and each group is
 * one SQL statement: messages and recipients (leased to this node, so the hot path never waits for
 * a queue scan) are inserted together, all or nothing. The message row is also the Send event:
 * {@link MessageQuery} renders it from there.
 */
public final class MessageStore {
  static final String INSERT = """
      WITH m AS (
        INSERT INTO messages (id, account_id, source, envelope_from, configuration_set, tags, content, size, created_at,
                              source_ip, caller_identity, verp_domain, contact_list, contact_list_topic, identity_account,
                              identity_name, tenant, tenant_id, operation, replaced_fields, source_tls, trackers)
        SELECT id, acct, src, env, cs, tags::jsonb, content, octet_length(content), ts, ip, caller, verp, list, topic,
               owner, ident, tenant, tenant_id, op, replaced, tls, trackers
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::timestamptz[],
                    $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
                    $22::text[], $23::text[], $24::text[], $25::bytea[], $26::text[], $27::smallint[])
          AS t(id, acct, src, env, cs, tags, content, ts, ip, caller, verp, list, topic, owner, ident, tenant,
               tenant_id, op, replaced, tls, trackers)
      )
      INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, lease_until, updated_at)
      SELECT mid, idx, addr, 'queued', ts, $12, now() + $13::int * interval '1 second', ts
      FROM unnest($9::text[], $10::int[], $11::text[], $14::timestamptz[]) AS t(mid, idx, addr, ts)""";

  /**
   * {@link #INSERT} for a batch with a message sent with a configuration set: its Send goes into the event outbox in
   * the same statement, once for each of the set's enabled destinations that take Sends (none, mostly: then the
   * statement costs one index lookup more per such message).
   */
  static final String INSERT_PUBLISHING = INSERT.replace(")\nINSERT INTO recipients",
      "  RETURNING id, account_id, configuration_set, created_at\n), r AS (\nINSERT INTO recipients") + "\n)\n" + """
      INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at)
      SELECT d.id, m.id, 'Send', '{}', m.created_at, m.created_at
      FROM m JOIN event_destinations d ON d.account_id = m.account_id AND d.configuration_set = m.configuration_set
      WHERE d.enabled AND 'Send' = ANY(d.event_types)""";

  /**
   * A message that could not be rendered (SES's Rendering Failure): the message without content, its recipients
   * {@code rendering_failed} (never queued), its event, and that event in the outbox once for each of its configuration
   * set's enabled destinations that take it. One statement: all or nothing.
   */
  static final String INSERT_RENDERING_FAILURE = """
      WITH m AS (
        INSERT INTO messages (id, account_id, source, envelope_from, configuration_set, tags, content, size, created_at,
                              source_ip, caller_identity, verp_domain, identity_account, identity_name, tenant,
                              tenant_id, operation, source_tls)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, ''::bytea, 0, $7, $8, $9, $10, $11, $12, $15, $16, $17, $18)
      ), r AS (
        INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at)
        SELECT $1, n - 1, address, 'rendering_failed', $7, $7 FROM unnest($13::text[]) WITH ORDINALITY AS t(address, n)
      ), e AS (
        INSERT INTO events (message_id, account_id, type, detail, created_at)
        VALUES ($1, $2, 'Rendering Failure', $14::jsonb, $7)
      )
      INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at)
      SELECT d.id, $1, 'Rendering Failure', $14::jsonb, $7, $7 FROM event_destinations d
      WHERE d.account_id = $2 AND d.configuration_set = $5 AND d.enabled AND 'Rendering Failure' = ANY(d.event_types)""";

  private final Vertx vertx;
  private final Pool pool;
  private final String leaseOwner;
  private final int leaseSeconds;
  private final GroupCommit<NewMessage, Void> commits;
  /**
   * Messages that may wait for the batches in flight (an event loop's), and what they may weigh together: normally a
   * few hundred wait, for milliseconds; while PostgreSQL stalls, each one is held in memory, so beyond these a send is
   * refused (503) rather than taking the heap with it. A message alone is always taken.
   */
  static final int MAX_QUEUED = 20_000;

  private static long maxQueuedBytes() {
    return Math.max(MAX_BATCH_BYTES, Runtime.getRuntime().maxMemory() / 8);
  }

  /** The message content one accept statement carries at most (one larger message goes alone). */
  static final long MAX_BATCH_BYTES = 64L * 1024 * 1024;

  /** @param lingerMillis how long a batch waits for more sends before it is committed (0: at once) */
  public MessageStore(Vertx vertx, Pool pool, String leaseOwner, int leaseSeconds, int maxInFlight, int lingerMillis) {
    this.vertx = vertx;
    this.pool = pool;
    this.leaseOwner = leaseOwner;
    this.leaseSeconds = leaseSeconds;
    this.commits = GroupCommit.writes(vertx, lingerMillis, 500, maxInFlight, this::insert)
        .maxWeight(MAX_BATCH_BYTES, m -> m.content().length)
        .maxQueued(MAX_QUEUED, maxQueuedBytes());
  }

  /** Completes once the message and its recipients (and so its Send event) are committed. */
  public Future<Void> accept(NewMessage message) {
    return commits.submit(message);
  }

  /** The batch's statement ({@link #storing}): one transaction, so its first message tells for all. */
  private Future<?> insert(List<NewMessage> batch) {
    return storing(batch.get(0).id(), conn -> insertOn(conn, batch, leaseOwner, leaseSeconds));
  }

  /**
   * Stores a message that could not be rendered, with its Rendering Failure event ({@code detailJson}: the event's
   * {@code failure} object). Not grouped: such sends are rare, and each is one short statement.
   */
  public Future<Void> renderingFailed(NewMessage m, String detailJson) {
    return storing(m.id(), conn -> conn.preparedQuery(INSERT_RENDERING_FAILURE).execute(Tuple.from(new Object[] {
        m.id(), m.accountId(), m.source(), m.envelopeFrom(), m.configurationSet(), m.tagsJson(),
        Timestamps.utc(m.acceptedAt()), m.sourceIp(), m.callerIdentity(), m.verpDomain(), m.identityAccount(),
        m.identityName(), m.recipients().toArray(String[]::new), detailJson, m.tenant(),
        m.tenantId(), m.operation(), m.sourceTls()}))).mapEmpty();
  }

  /**
   * {@code statement}, which stores message {@code id} (and maybe others, in one transaction), on a connection of the
   * pool. When it fails without an answer from PostgreSQL (the connection dropped: the commit may have gone through,
   * its answer lost), the node finds out, on another connection, whether it did: committed, the statement succeeded,
   * and its senders get their 200 rather than a 503 they would retry into a second copy of messages that are delivered
   * anyway.
   */
  private Future<Object> storing(String id, Function<SqlConnection, Future<?>> statement) {
    return pool.getConnection().compose(conn -> {
      int backend = PgConnection.cast(conn).processId();
      Future<Object> done;
      try {
        done = statement.apply(conn).map(r -> (Object) r);
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      return done.andThen(ar -> conn.close()).recover(e -> storedAnyway(backend, id, e));
    });
  }

  /**
   * After a statement that stored message {@code id} failed with {@code e} on server process {@code backend}: succeeds
   * when it was committed all the same (its answer lost), else fails with {@code e}. The connection may have dropped
   * while the statement still runs, or waits for a lock: PostgreSQL notices a client gone only when it answers, after
   * it committed. So the backend is ended before the message is looked for (its transaction has then committed or
   * rolled back for good); while that cannot be made sure of, the send fails (its client's retry may then make a
   * second copy, as it would without the lookup).
   */
  private Future<Object> storedAnyway(int backend, String id, Throwable e) {
    if (e instanceof io.vertx.pgclient.PgException) {
      return Future.failedFuture(e); // PostgreSQL answered: refused, so nothing was committed
    }
    return committed(backend, id, 0).transform(found -> found.failed() ? Future.failedFuture(new CommitUnknown(e))
        : found.result() ? Future.succeededFuture() : Future.failedFuture(e));
  }

  /**
   * A statement that stored messages failed without PostgreSQL's answer, and whether it committed could not be found
   * out: its messages may be delivered. Whoever counted them against a quota keeps them counted (the safe side).
   */
  public static final class CommitUnknown extends RuntimeException {
    CommitUnknown(Throwable cause) {
      super("whether the commit went through is not known: " + cause.getMessage(), cause, false, false);
    }
  }

  /** Delays before each look of {@link #committed}: the pool's other connections may be as dead as the first. */
  private static final long[] LOOKS_AFTER_MILLIS = {0, 250, 1000, 2000};

  /**
   * Whether message {@code id} is stored, once {@code backend} (the server process that stored it) is gone: it is
   * asked to end and waited for up to a second, and the message is looked for only once it has; tried a few times,
   * until PostgreSQL answers and the backend is gone.
   */
  private Future<Boolean> committed(int backend, String id, int look) {
    return pool.preparedQuery("SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity WHERE pid = $1")
        .execute(Tuple.of(backend))
        // a new statement: pg_stat_activity is read once per transaction
        .compose(ended -> pool.preparedQuery("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1), "
            + "EXISTS (SELECT 1 FROM messages WHERE id = $2)").execute(Tuple.of(backend, id)))
        .compose(rows -> {
          Row r = rows.iterator().next();
          return r.getBoolean(0)
              ? Future.<Boolean>failedFuture(new IllegalStateException("backend " + backend + " still runs"))
              : Future.succeededFuture(r.getBoolean(1));
        })
        .recover(e -> look + 1 >= LOOKS_AFTER_MILLIS.length ? Future.failedFuture(e)
            : vertx.timer(LOOKS_AFTER_MILLIS[look + 1]).compose(t -> committed(backend, id, look + 1)));
  }

  /**
   * One statement committing {@code batch}, its recipients leased to {@code leaseOwner}; on {@code client}, which may
   * be a transaction's connection (a forwarded bounce is committed with the deletion of what it forwards).
   */
  static Future<?> insertOn(SqlClient client, List<NewMessage> batch, String leaseOwner, int leaseSeconds) {
    int n = batch.size();
    int recipients = 0;
    for (NewMessage m : batch) {
      recipients += m.recipients().size();
    }
    String[] ids = new String[n];
    String[] accounts = new String[n];
    String[] sources = new String[n];
    String[] envelopes = new String[n];
    String[] configSets = new String[n];
    String[] tags = new String[n];
    Buffer[] contents = new Buffer[n];
    OffsetDateTime[] times = new OffsetDateTime[n];
    String[] sourceIps = new String[n];
    String[] callers = new String[n];
    String[] verp = new String[n];
    String[] lists = new String[n];
    String[] topics = new String[n];
    String[] owners = new String[n];
    String[] identities = new String[n];
    String[] tenants = new String[n];
    String[] tenantIds = new String[n];
    String[] operations = new String[n];
    Buffer[] replaced = new Buffer[n];
    String[] sourceTls = new String[n];
    Short[] trackers = new Short[n];
    String[] rMessage = new String[recipients];
    Integer[] rIdx = new Integer[recipients];
    String[] rAddress = new String[recipients];
    OffsetDateTime[] rTime = new OffsetDateTime[recipients];
    int j = 0;
    boolean publishing = false;
    for (int i = 0; i < n; i++) {
      NewMessage m = batch.get(i);
      publishing |= m.configurationSet() != null;
      ids[i] = m.id();
      accounts[i] = m.accountId();
      sources[i] = m.source();
      envelopes[i] = m.envelopeFrom();
      configSets[i] = m.configurationSet();
      tags[i] = m.tagsJson();
      contents[i] = Buffers.wrap(m.content());
      times[i] = Timestamps.utc(m.acceptedAt());
      sourceIps[i] = m.sourceIp();
      callers[i] = m.callerIdentity();
      verp[i] = m.verpDomain();
      lists[i] = m.contactList();
      topics[i] = m.contactListTopic();
      owners[i] = m.identityAccount();
      identities[i] = m.identityName();
      tenants[i] = m.tenant();
      tenantIds[i] = m.tenantId();
      operations[i] = m.operation();
      replaced[i] = m.replacedFields() == null ? null : Buffers.wrap(m.replacedFields());
      sourceTls[i] = m.sourceTls();
      trackers[i] = m.trackers() == null ? null : m.trackers().shortValue();
      OffsetDateTime due = Timestamps.utc(Timestamps.stored(m.acceptedAt())); // the fence its outcomes carry
      for (int k = 0; k < m.recipients().size(); k++) {
        rMessage[j] = m.id();
        rIdx[j] = k;
        rAddress[j] = m.recipients().get(k);
        rTime[j] = due;
        j++;
      }
    }
    return client.preparedQuery(publishing ? INSERT_PUBLISHING : INSERT).execute(Tuple.from(new Object[] {ids, accounts, sources, envelopes, configSets,
        tags, contents, times, rMessage, rIdx, rAddress, leaseOwner, leaseSeconds, rTime, sourceIps, callers, verp, lists,
        topics, owners, identities, tenants, tenantIds, operations, replaced, sourceTls, trackers}));
  }
}
