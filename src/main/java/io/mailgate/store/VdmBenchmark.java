package io.mailgate.store;

import io.mailgate.config.MailgateConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What computing a day of VDM metrics costs ({@code benchmarks/vdm.sh}): fills an empty, migrated database with a day
 * of {@code messages} messages of one account with VDM on, one in {@code share} of the day's (the others another
 * account's, which the computation reads past), each of {@code bytes} bytes,
 * as a busy sender's day looks (a few recipients in twenty at two addresses, bounces, complaints, opens, clicks, five
 * identities, three configuration sets, four providers), then times {@link VdmStore#count} and {@link VdmStore#replace}
 * for the day, as the node's pass runs them, and prints
 * {@code summary vdm_messages=N read_messages=M count_s=S read_per_s=R groups=G replace_ms=W}.
 */
public final class VdmBenchmark {
  private VdmBenchmark() {}

  static final String ACCOUNT = "vdm-bench";

  /**
   * The day's messages from midnight $3 (epoch ms), evenly apart: $2 times $4, one in $4 of account $1, the others of
   * another account; each with $5 bytes of content cut from a megabyte of random bytes (incompressible: stored in the
   * row, as a message of that size is), which the walk reads past as it reads the rows.
   */
  static final String MESSAGES = """
      WITH blob AS (SELECT decode(string_agg(md5(random()::text), ''), 'hex') AS b FROM generate_series(1, 65536))
      INSERT INTO messages (id, account_id, source, envelope_from, configuration_set, content, size, created_at,
                            identity_name, trackers)
      SELECT '0100' || lpad(to_hex(t), 12, '0') || '-' || md5(i::text),
             CASE WHEN i % $4::int = 0 THEN $1 ELSE 'other-account' END, 'news@bench.example', 'b@bench.example',
             CASE WHEN i % 3 = 0 THEN NULL ELSE 'set-' || (i % 3) END,
             substring(blob.b from ((i::bigint * 7919) % (1048576 - $5::int))::int + 1 for $5::int), $5::int,
             to_timestamp(t / 1000.0), 'identity-' || (i % 5) || '.example', CASE WHEN i % 2 = 0 THEN 3 END
      FROM blob, generate_series(0, $2::int * $4::int - 1) i
      CROSS JOIN LATERAL (SELECT $3 + i::bigint * 86399000 / ($2::int * $4::int) AS t) times""";

  /** One recipient each (two for one message in twenty), at one of four providers; most delivered. */
  static final String RECIPIENTS = """
      INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at, delivered_at)
      SELECT m.id, k, 'reader' || k || '@' || (ARRAY['gmail.com', 'yahoo.com', 'outlook.com', 'example.org'])[
               1 + abs(hashtext(m.id)) % 4],
             CASE WHEN abs(hashtext(m.id)) % 50 = 1 THEN 'bounced' ELSE 'delivered' END, now(), now(),
             CASE WHEN abs(hashtext(m.id)) % 50 = 1 THEN NULL ELSE m.created_at + interval '2 seconds' END
      FROM messages m
      CROSS JOIN LATERAL generate_series(0, CASE WHEN abs(hashtext(m.id)) % 20 = 7 THEN 1 ELSE 0 END) k""";

  /** A bounce for each bounced recipient, a complaint for one message in a thousand. */
  static final String EVENTS = """
      INSERT INTO events (message_id, account_id, type, recipient, detail, created_at)
      SELECT r.message_id, m.account_id, 'Bounce', r.address,
             '{"bounceType": "Permanent", "bounceSubType": "General"}'::jsonb, now()
      FROM recipients r JOIN messages m ON m.id = r.message_id WHERE r.state = 'bounced'
      UNION ALL
      SELECT m.id, m.account_id, 'Complaint', NULL, '{"complaintSubType": null}'::jsonb, now()
      FROM messages m WHERE abs(hashtext(m.id)) % 1000 = 3""";

  /** One message in five opened (some twice), one in twenty clicked. */
  static final String TRACKING = """
      INSERT INTO tracking_counts (message_id, type, n)
      SELECT id, 'Open', 1 + abs(hashtext(id)) % 2 FROM messages WHERE abs(hashtext(id)) % 5 = 2
      UNION ALL
      SELECT id, 'Click', 1 FROM messages WHERE abs(hashtext(id)) % 20 = 2""";

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: VdmBenchmark <pg-url of an empty database> <messages> <share> <bytes>");
      System.exit(2);
    }
    String url = args[0];
    int messages = Integer.parseInt(args[1]);
    int share = Integer.parseInt(args[2]);
    int bytes = Integer.parseInt(args[3]);
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), 2);
      await(Migrations.apply(pool));
      LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(1);
      long midnight = day.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
      long filling = System.nanoTime();
      await(pool.preparedQuery(MESSAGES).execute(Tuple.of(ACCOUNT, messages, midnight, share, bytes)));
      for (String sql : List.of(RECIPIENTS, EVENTS, TRACKING, "ANALYZE")) {
        await(pool.query(sql).execute());
      }
      long read = (long) messages * share;
      System.out.printf("filled %d messages of %d bytes (two accounts) in %.1f s%n", read, bytes,
          (System.nanoTime() - filling) / 1e9);

      VdmStore store = new VdmStore(pool);
      await(store.claim(day, "bench", 900, Instant.now()));
      long t0 = System.nanoTime();
      Map<VdmStore.Group, long[]> counts = await(store.count(day, List.of(ACCOUNT)));
      double countSeconds = (System.nanoTime() - t0) / 1e9;
      long t1 = System.nanoTime();
      boolean written = await(store.replace(day, "bench", List.of(ACCOUNT), counts, Instant.now()));
      double replaceMillis = (System.nanoTime() - t1) / 1e6;
      long sends = counts.values().stream().mapToLong(v -> v[VdmStore.Metric.SEND.ordinal()]).sum();
      System.out.printf("counted %d sends (one-recipient messages) in %d groups; written: %s%n", sends,
          counts.size(), written);
      System.out.printf("summary vdm_messages=%d read_messages=%d count_s=%.2f read_per_s=%.0f groups=%d "
          + "replace_ms=%.1f%n", messages, read, countSeconds, read / countSeconds, counts.size(), replaceMillis);
      pool.close();
    } finally {
      vertx.close();
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.MINUTES);
  }
}
