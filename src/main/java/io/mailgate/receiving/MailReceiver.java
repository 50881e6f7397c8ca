package io.mailgate.receiving;

import io.mailgate.Buffers;
import io.mailgate.events.SesEvents;
import io.mailgate.receiving.ReceiptPlan.Chain;
import io.mailgate.receiving.ReceiptPlan.Step;
import io.mailgate.receiving.SenderAuthentication.Verdicts;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.store.GroupCommit;
import io.mailgate.store.ReceivedMessages;
import io.mailgate.store.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs the receipt rules' actions for a message whose recipients' plans were made at RCPT TO: S3 actions store it
 * ({@code received_objects}), SNS actions and every action's topic queue a notification ({@code receipt_outbox}, posted
 * by the event publisher), AddHeader actions add to what the later actions of the account see, and each account whose
 * rules took the message (ended without a Bounce) keeps what SES v1 SendBounce needs of it ({@code received_messages}:
 * its envelope sender, the account's recipients, its header section). Everything is written
 * in one statement before the reply (with the other messages received meanwhile: {@link GroupCommit}), so a 250
 * means the message is kept, and a failure leaves nothing (451: the sending server tries again). The reply is 250, or the Bounce action's reply when the recipients bounce.
 * Each account's rules run within limits of their own: an account whose rules refuse the message (too many copies,
 * too much of it, too large to post) is left out, and the message is refused only when every account's rules refuse
 * it.
 *
 * <p>What is stored and posted starts with a {@code Return-Path} and a {@code Received} header, as a final delivery
 * writes them, then the headers AddHeader actions added, then the message as received.
 */
public final class MailReceiver {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(MailReceiver.class.getName());
  private static final DateTimeFormatter RFC5322 = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
  private static final char[] ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * One statement for a batch of received messages: what their S3 actions store, the notifications they queue and
   * what SendBounce keeps of them, all or nothing, from arrays (one round trip, one commit, however many messages). A
   * key written twice in a batch keeps its last content ({@link #write} drops the earlier rows: one statement cannot
   * update a row twice).
   */
  static final String WRITE = """
      WITH stored AS (
        INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[])
        ON CONFLICT (account_id, bucket, object_key)
        DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at,
          part_sizes = NULL, part_checksums = NULL, parts_etag = NULL, checksum_algorithm = NULL, checksum = NULL,
          metadata = NULL, tags = NULL
        RETURNING 1
      ), notified AS (
        INSERT INTO receipt_outbox (account_id, url, message_id, body, created_at, next_attempt_at)
        SELECT a, u, m, b, t, t FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
          AS n(a, u, m, b, t)
        RETURNING 1
      ), received AS (
        INSERT INTO received_messages (account_id, message_id, reverse_path, recipients, headers, received_at)
        SELECT a, m, p, string_to_array(r, E'\n'), h, t
        FROM unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::bytea[], $17::timestamptz[])
          AS x(a, m, p, r, h, t)
        ON CONFLICT (message_id, account_id) DO NOTHING
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM notified), (SELECT count(*) FROM received)""";

  /** A stored object of a received message. */
  record StoredObject(String accountId, String bucket, String key, String messageId, byte[] content, Instant at) {}

  /** A notification a received message owes. */
  record Notice(String accountId, String url, String messageId, String body, Instant at) {}

  /**
   * What SES v1 SendBounce needs of a message an account received ({@code received_messages}): where a bounce of it
   * goes ({@code reversePath}, empty for a null reverse-path), the account's recipients its rules accepted, and the
   * header section the bounce quotes ({@link #quotedHeaders}).
   */
  record Received(String accountId, String messageId, String reversePath, List<String> recipients, byte[] headers,
      Instant at) {}

  /** What one received message writes. */
  record Rows(List<StoredObject> stored, List<Notice> notices, List<Received> received) {
    boolean isEmpty() {
      return stored.isEmpty() && notices.isEmpty() && received.isEmpty();
    }

    long bytes() {
      long n = 0;
      for (Received r : received) {
        n += r.headers().length;
      }
      for (StoredObject o : stored) {
        n += o.content().length;
      }
      for (Notice x : notices) {
        n += x.body().length();
      }
      return n;
    }
  }

  /** Most copies one account's rules may store of a message, and notifications they may post: beyond, it is refused. */
  static final int MAX_OBJECTS = 16;
  static final int MAX_NOTICES = 32;

  /**
   * The most of a message's header section kept for SES v1 SendBounce to quote ({@link #quotedHeaders}): a DSN's
   * text/rfc822-headers part needs the fields that identify the message, not an unbounded block of them.
   */
  static final int MAX_QUOTED_HEADER_BYTES = 64 * 1024;

  /**
   * What the rules of one of a message's accounts may store and post of it ({@link Rows#bytes}, what its statement
   * carries and about what it holds in memory until then) is at most this many times the largest message (the inbound
   * server's {@code smtp.inboundMaxMessageBytes}), plus {@link #STORED_HEADROOM}: beyond, the message is refused for
   * that account (552 5.3.4, when no other account receives it). Each S3 action stores a whole copy, and after an
   * AddHeader a new one (which differs from the earlier ones): sixteen copies of a 10 MB message would be 160 MB, a
   * dozen such sessions gigabytes. A message has at most {@link ReceivingDirectory#MAX_ACCOUNTS} accounts.
   */
  static final int STORED_MESSAGES = 4;

  /** Room beyond {@link #STORED_MESSAGES} messages for the headers Mailgate and AddHeader actions add, and notices. */
  static final long STORED_HEADROOM = 1024 * 1024;

  /** A batch's content at most (one larger message goes alone). */
  static final long MAX_BATCH_BYTES = 32L * 1024 * 1024;

  /**
   * Messages that may wait for the statements in flight: no more than the inbound server's connections (1,000), each
   * with one message at a time. What they may weigh together ({@link #maxQueuedBytes}) is the bound that matters:
   * while PostgreSQL stalls, each waits in memory with every copy its rules made, and the DATA budget (128 MB) counts
   * only the messages as received; beyond, a message is answered 451 and the sending server tries again later.
   */
  static final int MAX_QUEUED = 1_000;

  static long maxQueuedBytes() {
    return Math.max(MAX_BATCH_BYTES, Runtime.getRuntime().maxMemory() / 16);
  }

  /** The reply to a message refused because too much waits to be stored ({@link GroupCommit.Full}). */
  public static final SmtpReply BUSY = new SmtpReply(451, "4.3.1",
      "Too many messages are waiting to be stored; try again later");

  private final Pool db;
  private final Clock clock;
  private final String serverName;
  private final GroupCommit<Rows, Boolean> writes;
  private final SenderAuthentication authentication;
  /** What one account's rules may store and post of a message, in bytes ({@link #STORED_MESSAGES}). */
  private final long maxStoredBytes;

  /**
   * {@code maxInFlight}: statements at a time (the pool's connections); messages meanwhile wait and go together, and
   * a message is refused with {@link #BUSY} (its future fails with {@link GroupCommit.Full}) when too many wait.
   * {@code maxMessageBytes}: the largest message the server takes.
   */
  public MailReceiver(Vertx vertx, Pool db, Clock clock, String serverName, int maxInFlight, long maxMessageBytes,
      SenderAuthentication authentication) {
    this.authentication = authentication;
    this.db = db;
    this.clock = clock;
    this.serverName = serverName;
    this.maxStoredBytes = STORED_MESSAGES * maxMessageBytes + STORED_HEADROOM;
    this.writes = new GroupCommit<Rows, Boolean>(vertx, 0, 200, maxInFlight, this::writeEach)
        .maxWeight(MAX_BATCH_BYTES, Rows::bytes)
        .maxQueued(MAX_QUEUED, maxQueuedBytes());
  }

  /** The length of a received message's id: the last part of its S3 object key. */
  public static final int MESSAGE_ID_LENGTH = 40;

  /**
   * A new message id: 40 lower-case letters and digits, as SES's receiving ids look; the first
   * {@link ReceivedMessages#TIME_CHARS} are the time it arrived ({@link ReceivedMessages#timePrefix}), the other 31
   * random (160 bits). Ids in time order make every index on them grow at its end (the S3 objects' keys, what
   * SendBounce keeps): a random key would land on a random index page, each written whole to the WAL the first time
   * after a checkpoint. An S3 listing of a prefix gives the mail in arrival order.
   */
  static String messageId(long arrivedMillis) {
    char[] id = new char[MESSAGE_ID_LENGTH];
    ReceivedMessages.timePrefix(arrivedMillis).getChars(0, ReceivedMessages.TIME_CHARS, id, 0);
    for (int i = ReceivedMessages.TIME_CHARS; i < id.length; i++) {
      id[i] = ID_CHARS[RANDOM.nextInt(ID_CHARS.length)];
    }
    return new String(id);
  }

  /**
   * Receives the message for the recipients' plans (none refused, all with the same outcome). Fails when it could not
   * be stored: with {@link GroupCommit.Full} when too many messages wait to be ({@link #BUSY}).
   */
  public Future<SmtpReply> receive(Envelope envelope, byte[] message, List<ReceiptPlan> plans, Instant receivedAt) {
    boolean notifies = plans.stream().anyMatch(p -> p.chains().stream().anyMatch(c -> c.steps().stream()
        .anyMatch(s -> s.actions().stream().anyMatch(a -> a.topicArn() != null))));
    // the verdicts are for notifications: a message that only gets stored is not checked
    Future<Verdicts> verdicts = notifies ? authentication.of(envelope, message)
        : Future.succeededFuture(Verdicts.UNCHECKED);
    return verdicts.compose(v -> receive(envelope, message, plans, receivedAt, v));
  }

  private Future<SmtpReply> receive(Envelope envelope, byte[] message, List<ReceiptPlan> plans, Instant receivedAt,
      Verdicts verdicts) {
    String id = messageId(receivedAt.toEpochMilli());
    String trace = "Return-Path: <" + envelope.reversePath() + ">\r\n"
        + "Received: from " + envelope.heloName()
        + (envelope.remoteAddress() == null ? "" : " (" + envelope.remoteAddress().getAddress().getHostAddress() + ")")
        // the protocol it came over, where Postfix says it (RFC 3848's ESMTPS says only that there was TLS)
        + (envelope.tls() && envelope.tlsProtocol() != null ? "\r\n\t(using " + envelope.tlsProtocol() + ")" : "")
        + "\r\n\tby " + serverName + " with " + (envelope.tls() ? "ESMTPS" : "ESMTP") + " id " + id
        + (plans.size() == 1 ? "\r\n\tfor <" + plans.get(0).recipient() + ">" : "") + ";\r\n\t"
        + RFC5322.format(receivedAt) + "\r\n";
    List<StoredObject> stored = new ArrayList<>();
    List<Notice> notices = new ArrayList<>();
    Made made = new Made(trace, message);
    Map<String, List<ReceiptPlan>> accounts = byAccount(plans);
    // each account's rules run into lists of their own, within a budget of their own: an account whose rules refuse
    // the message (too many copies, too much of it, too large to post) is left out, and the others still receive it;
    // only when every account's rules refuse it is it refused (with the first account's reply)
    SmtpReply refusal = null;
    for (Iterator<Map.Entry<String, List<ReceiptPlan>>> i = accounts.entrySet().iterator(); i.hasNext(); ) {
      Map.Entry<String, List<ReceiptPlan>> e = i.next();
      List<StoredObject> own = new ArrayList<>();
      List<Notice> ownNotices = new ArrayList<>();
      SmtpReply refused = run(e.getKey(), e.getValue(), envelope, id, made.new Budget(), receivedAt, verdicts, own,
          ownNotices);
      if (refused != null) {
        refusal = refusal == null ? refused : refusal;
        LOG.fine(() -> "message " + id + " not received for account " + e.getKey() + ": " + refused);
        i.remove();
      } else {
        stored.addAll(own);
        notices.addAll(ownNotices);
      }
    }
    if (accounts.isEmpty() || (refusal != null && takenOnlyByRefused(plans, accounts.keySet()))) {
      // (a recipient only a refusing account's rules took would be neither received nor bounced: the message is
      // refused, as when one account receives it, and its sender is told)
      return Future.succeededFuture(refusal);
    }
    SmtpReply reply = reply(plans, accounts.keySet(), id);
    // received by each account whose rules took some recipients (their chains ended without a Bounce): it may bounce
    // the message later
    List<Received> received = new ArrayList<>(1);
    byte[] quoted = null;
    for (Map.Entry<String, List<ReceiptPlan>> e : accounts.entrySet()) {
      List<String> accepted = new ArrayList<>(e.getValue().size());
      for (ReceiptPlan p : e.getValue()) {
        if (chainOf(p, e.getKey()).bounce() == null) {
          accepted.add(p.recipient());
        }
      }
      if (!accepted.isEmpty()) {
        quoted = quoted != null ? quoted : quotedHeaders(trace, message);
        received.add(new Received(e.getKey(), id, envelope.reversePath(), accepted, quoted, receivedAt));
      }
    }
    Rows rows = new Rows(stored, notices, received);
    Future<Boolean> written = rows.isEmpty() ? Future.succeededFuture(true) : writes.submit(rows);
    return written.compose(ok -> !ok ? Future.failedFuture("the message could not be stored")
        : Future.succeededFuture(reply));
  }

  /** Whether some recipient is taken (a chain without a Bounce) by none of the {@code taking} accounts but by another. */
  private static boolean takenOnlyByRefused(List<ReceiptPlan> plans, Set<String> taking) {
    for (ReceiptPlan p : plans) {
      boolean byTaking = false;
      boolean byOther = false;
      for (Chain c : p.chains()) {
        if (c.bounce() == null) {
          if (taking.contains(c.account().accountId())) {
            byTaking = true;
          } else {
            byOther = true;
          }
        }
      }
      if (byOther && !byTaking) {
        return true;
      }
    }
    return false;
  }

  /**
   * The reply for the recipients as the {@code taking} accounts' chains end (the others' rules refused the message):
   * 250 when some account's chain takes some recipient, else the first recipient's first Bounce. With every account
   * taking part that is the recipients' shared {@link ReceiptPlan#outcome}; a recipient that only a refusing account
   * took is not bounced for the message's other recipients.
   */
  private static SmtpReply reply(List<ReceiptPlan> plans, Set<String> taking, String id) {
    ReceiptAction.Bounce bounce = null;
    for (ReceiptPlan p : plans) {
      for (Chain c : p.chains()) {
        if (!taking.contains(c.account().accountId())) {
          continue;
        }
        if (c.bounce() == null) {
          return new SmtpReply(250, "2.6.0", "Message received: " + id);
        }
        bounce = bounce == null ? c.bounce() : bounce;
      }
    }
    return ReceiptPlan.reply(bounce);
  }

  /**
   * Writes a batch; when it fails, each message alone, so that one message's failure (a row the database refuses)
   * is not every other message's: true for each message written.
   */
  private Future<List<Boolean>> writeEach(List<Rows> batch) {
    return write(batch).map(v -> java.util.Collections.nCopies(batch.size(), true)).recover(e -> {
      if (batch.size() == 1) {
        return Future.failedFuture(e);
      }
      List<Future<Boolean>> each = new ArrayList<>(batch.size());
      for (Rows r : batch) {
        each.add(write(List.of(r)).map(v -> true).otherwise(failure -> {
          LOG.warning("cannot store a received message: " + failure.getMessage());
          return false;
        }));
      }
      return Future.join(each).map(all -> each.stream().map(Future::result).toList());
    });
  }

  private Future<?> write(List<Rows> batch) {
    Map<List<String>, StoredObject> objects = new LinkedHashMap<>();
    List<Notice> notices = new ArrayList<>();
    for (Rows r : batch) {
      r.stored().forEach(o -> objects.put(List.of(o.accountId(), o.bucket(), o.key()), o));
      notices.addAll(r.notices());
    }
    int n = objects.size();
    String[] accounts = new String[n];
    String[] buckets = new String[n];
    String[] keys = new String[n];
    String[] ids = new String[n];
    Buffer[] contents = new Buffer[n];
    OffsetDateTime[] times = new OffsetDateTime[n];
    int i = 0;
    for (StoredObject o : objects.values()) {
      accounts[i] = o.accountId();
      buckets[i] = o.bucket();
      keys[i] = o.key();
      ids[i] = o.messageId();
      contents[i] = Buffers.wrap(o.content()); // not a copy: objects of one message often share their content
      times[i++] = Timestamps.utc(o.at());
    }
    int m = notices.size();
    String[] noticeAccounts = new String[m];
    String[] urls = new String[m];
    String[] noticeIds = new String[m];
    String[] bodies = new String[m];
    OffsetDateTime[] noticeTimes = new OffsetDateTime[m];
    for (int j = 0; j < m; j++) {
      Notice x = notices.get(j);
      noticeAccounts[j] = x.accountId();
      urls[j] = x.url();
      noticeIds[j] = x.messageId();
      bodies[j] = x.body();
      noticeTimes[j] = Timestamps.utc(x.at());
    }
    List<Received> received = new ArrayList<>(batch.size());
    for (Rows r : batch) {
      received.addAll(r.received());
    }
    int k = received.size();
    String[] receivedAccounts = new String[k];
    String[] receivedIds = new String[k];
    String[] reversePaths = new String[k];
    String[] recipients = new String[k];
    Buffer[] headers = new Buffer[k];
    OffsetDateTime[] receivedTimes = new OffsetDateTime[k];
    for (int j = 0; j < k; j++) {
      Received x = received.get(j);
      receivedAccounts[j] = x.accountId();
      receivedIds[j] = x.messageId();
      reversePaths[j] = x.reversePath();
      recipients[j] = String.join("\n", x.recipients()); // split again by the statement: no address holds a line feed
      headers[j] = Buffers.wrap(x.headers());
      receivedTimes[j] = Timestamps.utc(x.at());
    }
    return db.preparedQuery(WRITE).execute(Tuple.tuple().addArrayOfString(accounts).addArrayOfString(buckets)
        .addArrayOfString(keys).addArrayOfString(ids).addArrayOfBuffer(contents).addArrayOfOffsetDateTime(times)
        .addArrayOfString(noticeAccounts).addArrayOfString(urls).addArrayOfString(noticeIds).addArrayOfString(bodies)
        .addArrayOfOffsetDateTime(noticeTimes)
        .addArrayOfString(receivedAccounts).addArrayOfString(receivedIds).addArrayOfString(reversePaths)
        .addArrayOfString(recipients).addArrayOfBuffer(headers).addArrayOfOffsetDateTime(receivedTimes));
  }

  /** The plans of each account receiving for some of them, by account id, in order. */
  private static Map<String, List<ReceiptPlan>> byAccount(List<ReceiptPlan> plans) {
    Map<String, List<ReceiptPlan>> out = new LinkedHashMap<>();
    for (ReceiptPlan p : plans) {
      for (Chain c : p.chains()) {
        out.computeIfAbsent(c.account().accountId(), a -> new ArrayList<>()).add(p);
      }
    }
    return out;
  }

  /** The chain of {@code accountId} in a plan, or null. */
  private static Chain chainOf(ReceiptPlan p, String accountId) {
    for (Chain c : p.chains()) {
      if (c.account().accountId().equals(accountId)) {
        return c;
      }
    }
    return null;
  }

  /**
   * One account's rules, in order, each for the recipients whose chain includes it (rules are told apart by name:
   * recipients' plans may hold copies of the account's rules, loaded at different times). Null, or the reply that
   * refuses the message for this account: larger than an SNS action may post, stored or posted too many times, or
   * more of it stored and posted than one account's rules may make ({@link #STORED_MESSAGES}).
   */
  private SmtpReply run(String accountId, List<ReceiptPlan> plans, Envelope envelope, String id, Made.Budget budget,
      Instant receivedAt, Verdicts verdicts, List<StoredObject> stored, List<Notice> notices) {
    List<String> destination = plans.stream().map(ReceiptPlan::recipient).toList();
    StringBuilder added = new StringBuilder();
    List<SesEvents.ReceivedField> addedFields = new ArrayList<>();
    byte[] content = null;
    JsonObject mail = null;
    // the rules in their rule set's order (an AddHeader reaches the account's later actions), whichever recipient's
    // plan each came from
    List<String> ruleOrder = new ArrayList<>();
    Map<String, Integer> position = new HashMap<>();
    for (ReceiptPlan p : plans) {
      Chain chain = chainOf(p, accountId);
      List<ReceiptRule> all = chain.account().rules();
      for (int i = 0; i < all.size(); i++) {
        position.merge(all.get(i).name(), i, Math::min);
      }
      for (Step s : chain.steps()) {
        if (!ruleOrder.contains(s.rule().name())) {
          ruleOrder.add(s.rule().name());
        }
      }
    }
    ruleOrder.sort(java.util.Comparator.comparing(name -> position.getOrDefault(name, Integer.MAX_VALUE)));
    int objectsBefore = stored.size();
    int noticesBefore = notices.size();
    for (String ruleName : ruleOrder) {
      List<String> recipients = new ArrayList<>();
      Step step = null;
      for (ReceiptPlan p : plans) {
        for (Step s : chainOf(p, accountId).steps()) {
          if (s.rule().name().equals(ruleName)) {
            recipients.add(p.recipient());
            step = s;
          }
        }
      }
      ReceiptRule rule = step.rule();
      for (ReceiptAction action : step.actions()) {
        if (action instanceof ReceiptAction.AddHeader h) {
          String line = h.headerName() + ": " + h.headerValue() + "\r\n";
          added.append(line);
          addedFields.addAll(ReceivedHeaders.notified(line.getBytes(StandardCharsets.UTF_8), Integer.MAX_VALUE,
              Set.of()).head());
          content = null;
          mail = null;
          continue;
        }
        if (action instanceof ReceiptAction.S3 s3) {
          if (stored.size() - objectsBefore >= MAX_OBJECTS) { // refused before the copies pile up, not after
            return tooManyCopies();
          }
          if (content == null && (content = budget.content(added.toString())) == null) {
            return tooLarge();
          }
          String key = s3.objectKey(id);
          StoredObject again = null; // the same object written by an earlier rule: one object, the last content
          for (StoredObject o : stored) {
            if (o.accountId().equals(accountId) && o.bucket().equals(s3.bucketName()) && o.key().equals(key)) {
              again = o;
            }
          }
          if (!budget.take(again == null ? content.length : Math.max(0, content.length - again.content().length))) {
            return tooLarge();
          }
          stored.remove(again);
          stored.add(new StoredObject(accountId, s3.bucketName(), key, id, content, receivedAt));
        }
        if (action.topicArn() == null) {
          continue;
        }
        if (notices.size() - noticesBefore >= MAX_NOTICES) {
          return tooManyCopies();
        }
        if (mail == null) { // the message's own fields are read once, for every account and action
          mail = SesEvents.receivedMail(id, envelope.reversePath(), receivedAt, destination,
              budget.made().headers().withLeading(addedFields));
        }
        JsonObject notice = new JsonObject()
            .put("notificationType", "Received")
            .put("mail", mail)
            .put("receipt", receipt(rule, recipients, action, id, receivedAt, verdicts));
        if (action instanceof ReceiptAction.Sns sns) {
          if (content == null && (content = budget.content(added.toString())) == null) {
            return tooLarge();
          }
          if (content.length > ReceiptPlan.MAX_SNS_BYTES) {
            return new SmtpReply(552, "5.3.4", "Message rejected: larger than the " + ReceiptPlan.MAX_SNS_BYTES / 1024
                + " KB an SNS action of the recipient's receipt rules can post");
          }
          notice.put("content", ReceiptAction.Sns.BASE64.equals(sns.encoding())
              ? Base64.getEncoder().encodeToString(content) : new String(content, StandardCharsets.UTF_8));
        }
        String body = notice.encode();
        if (!budget.take(body.length())) {
          return tooLarge();
        }
        notices.add(new Notice(accountId, action.topicArn(), id, body, receivedAt));
      }
    }
    return null;
  }

  private static SmtpReply tooManyCopies() {
    return new SmtpReply(554, "5.3.4", "Message rejected: the recipient's receipt rules would store it more than "
        + MAX_OBJECTS + " times or post it more than " + MAX_NOTICES + " times");
  }

  private SmtpReply tooLarge() {
    return new SmtpReply(552, "5.3.4", "Message rejected: the recipients' receipt rules would store and post more "
        + "than " + maxStoredBytes / (1024 * 1024) + " MB of it (" + STORED_MESSAGES + " times the largest message)");
  }

  /**
   * What a message's rules make of it, across its accounts: its contents, one for each run of headers added before
   * it (the actions that store or post the same bytes share one array, whichever account's they are), and the fields
   * its notifications show. What each account's rules store and post is counted against that account's
   * {@link Budget}.
   */
  private final class Made {
    private final String trace;
    private final byte[] message;
    private final Map<String, byte[]> contents = new HashMap<>();
    private SesEvents.NotifiedHeaders headers;

    Made(String trace, byte[] message) {
      this.trace = trace;
      this.message = message;
    }

    /**
     * What one account's rules may make of the message ({@link #STORED_MESSAGES}), counted apart from the other
     * accounts' so that theirs cannot refuse it for this one: with at most {@link ReceivingDirectory#MAX_ACCOUNTS}
     * accounts, what a message holds stays bounded.
     */
    final class Budget {
      private final Set<String> charged = new HashSet<>();
      private long bytes;
      private long built;

      Made made() {
        return Made.this;
      }

      /**
       * The message with Mailgate's headers and {@code added} (AddHeader actions' fields) before it; null when one
       * more copy would make those the account holds more than it may make. Each is held until the message is done,
       * whatever becomes of it: an object written again under the same key counts only what it grew by, but its new
       * copy is counted here. A copy another account made already is shared, and counted for this one too.
       */
      byte[] content(String added) {
        if (!charged.contains(added)) {
          long size = (trace + added).getBytes(StandardCharsets.UTF_8).length + (long) message.length;
          if (built + size > maxStoredBytes) {
            return null;
          }
          built += size;
          charged.add(added);
        }
        return contents.computeIfAbsent(added, k -> concat((trace + k).getBytes(StandardCharsets.UTF_8), message));
      }

      /** Counts {@code n} more bytes stored or posted; false when that would be more than the account may make. */
      boolean take(long n) {
        if (bytes + n > maxStoredBytes) {
          return false;
        }
        bytes += n;
        return true;
      }
    }

    /**
     * The headers of the message's notifications, Mailgate's Return-Path and Received first; the message's own
     * fields are read once, leniently ({@link ReceivedHeaders#notified}), and no further than they are shown or
     * {@code commonHeaders} needs.
     */
    SesEvents.NotifiedHeaders headers() {
      if (headers == null) {
        headers = SesEvents.NotifiedHeaders.of(ReceivedHeaders.notified(message, SesEvents.MAX_HEADER_BYTES,
            SesEvents.COMMON_HEADERS)).withLeading(ReceivedHeaders.notified(trace.getBytes(StandardCharsets.UTF_8),
                Integer.MAX_VALUE, Set.of()).head());
      }
      return headers;
    }
  }

  private JsonObject receipt(ReceiptRule rule, List<String> recipients, ReceiptAction action, String id,
      Instant receivedAt, Verdicts verdicts) {
    JsonObject scan = new JsonObject().put("status", rule.scanEnabled() ? DkimVerdict.GRAY : "DISABLED");
    JsonObject receipt = new JsonObject()
        .put("timestamp", SesEvents.time(receivedAt))
        .put("processingTimeMillis", Math.max(0, clock.millis() - receivedAt.toEpochMilli()))
        .put("recipients", new JsonArray(List.copyOf(recipients)))
        .put("spamVerdict", scan)
        .put("virusVerdict", scan.copy())
        .put("spfVerdict", new JsonObject().put("status", verdicts.spf().sesStatus()))
        .put("dkimVerdict", new JsonObject().put("status", verdicts.dkim().status()))
        .put("dmarcVerdict", new JsonObject().put("status", verdicts.dmarc().status()));
    if (verdicts.dmarc().policy() != null) {
      receipt.put("dmarcPolicy", verdicts.dmarc().policy()); // as in SES: only when DMARC failed
    }
    return receipt.put("action", action(action, id));
  }

  /** The {@code receipt.action} object as SES writes it for each action type. */
  static JsonObject action(ReceiptAction action, String id) {
    JsonObject a = new JsonObject();
    if (action instanceof ReceiptAction.S3 s3) {
      a.put("type", "S3").put("topicArn", s3.topicArn()).put("bucketName", s3.bucketName())
          .put("objectKeyPrefix", s3.objectKeyPrefix() == null ? "" : s3.objectKeyPrefix())
          .put("objectKey", s3.objectKey(id));
    } else if (action instanceof ReceiptAction.Sns sns) {
      a.put("type", "SNS").put("topicArn", sns.topicArn())
          .put("encoding", ReceiptAction.Sns.BASE64.equals(sns.encoding()) ? "BASE64" : "UTF8");
    } else if (action instanceof ReceiptAction.Bounce b) {
      a.put("type", "Bounce").put("topicArn", b.topicArn()).put("smtpReplyCode", b.smtpReplyCode())
          .put("statusCode", b.statusCode()).put("message", b.message()).put("sender", b.sender());
    } else if (action instanceof ReceiptAction.Stop s) {
      a.put("type", "Stop").put("topicArn", s.topicArn());
    }
    a.getMap().values().removeIf(v -> v == null);
    return a;
  }

  /**
   * The header section a bounce of the message quotes: Mailgate's trace fields, then the message's own up to the blank
   * line that ends them, at most {@link #MAX_QUOTED_HEADER_BYTES} (cut after a whole line).
   */
  static byte[] quotedHeaders(String trace, byte[] message) {
    byte[] head = trace.getBytes(StandardCharsets.UTF_8);
    int end = 0; // the end of the message's header section: after the line break before the blank line
    if (!(message.length > 0 && (message[0] == '\n' || message[0] == '\r'))) {
      end = message.length;
      for (int i = 0; i < message.length; i++) {
        if (message[i] == '\n' && (i + 1 == message.length || message[i + 1] == '\n'
            || message[i + 1] == '\r' && i + 2 < message.length && message[i + 2] == '\n')) {
          end = i + 1;
          break;
        }
      }
    }
    int room = MAX_QUOTED_HEADER_BYTES - head.length;
    if (end > room) {
      int cut = room;
      while (cut > 0 && message[cut - 1] != '\n') {
        cut--;
      }
      end = cut;
    }
    byte[] out = new byte[head.length + end];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(message, 0, out, head.length, end);
    return out;
  }

  private static byte[] concat(byte[] head, byte[] body) {
    byte[] out = new byte[head.length + body.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length, body.length);
    return out;
  }
}
