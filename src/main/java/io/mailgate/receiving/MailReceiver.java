package io.mailgate.receiving;

import io.mailgate.events.SesEvents;
import io.mailgate.receiving.ReceiptPlan.Chain;
import io.mailgate.receiving.ReceiptPlan.Step;
import io.mailgate.receiving.ReceivingDirectory.AccountRules;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.store.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the receipt rules' actions for a message whose recipients' plans were made at RCPT TO: S3 actions store it
 * ({@code received_objects}), SNS actions and every action's topic queue a notification ({@code receipt_outbox}, posted
 * by the event publisher), AddHeader actions add to what the later actions of the account see. Everything is written
 * in one transaction before the reply, so a 250 means the message is kept, and a failure leaves nothing (451: the
 * sending server tries again). The reply is 250, or the Bounce action's reply when the recipients bounce.
 *
 * <p>What is stored and posted starts with a {@code Return-Path} and a {@code Received} header, as a final delivery
 * writes them, then the headers AddHeader actions added, then the message as received.
 */
public final class MailReceiver {
  private static final DateTimeFormatter RFC5322 = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
  private static final char[] ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  static final String STORE = """
      INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (account_id, bucket, object_key)
      DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at""";
  static final String NOTIFY = """
      INSERT INTO receipt_outbox (account_id, url, message_id, body, created_at, next_attempt_at)
      VALUES ($1, $2, $3, $4, $5, $5)""";

  private final Pool db;
  private final Clock clock;
  private final String serverName;

  public MailReceiver(Pool db, Clock clock, String serverName) {
    this.db = db;
    this.clock = clock;
    this.serverName = serverName;
  }

  /** A new message id: 40 lower-case letters and digits, as SES's receiving ids look. */
  static String messageId() {
    char[] id = new char[40];
    for (int i = 0; i < id.length; i++) {
      id[i] = ID_CHARS[RANDOM.nextInt(ID_CHARS.length)];
    }
    return new String(id);
  }

  /** Receives the message for the recipients' plans (none refused, all with the same outcome). */
  public Future<SmtpReply> receive(Envelope envelope, byte[] message, List<ReceiptPlan> plans, Instant receivedAt) {
    ReceiptPlan.Outcome outcome = plans.get(0).outcome();
    if (outcome.snsLimited() && message.length > ReceiptPlan.MAX_SNS_BYTES) {
      return Future.succeededFuture(new SmtpReply(552, "5.3.4", "Message rejected: larger than the "
          + ReceiptPlan.MAX_SNS_BYTES / 1024 + " KB an SNS action of the recipient's receipt rules can post"));
    }
    String id = messageId();
    String trace = "Return-Path: <" + envelope.reversePath() + ">\r\n"
        + "Received: from " + envelope.heloName()
        + (envelope.remoteAddress() == null ? "" : " (" + envelope.remoteAddress().getAddress().getHostAddress() + ")")
        + "\r\n\tby " + serverName + " with " + (envelope.tls() ? "ESMTPS" : "ESMTP") + " id " + id
        + (plans.size() == 1 ? "\r\n\tfor <" + plans.get(0).recipient() + ">" : "") + ";\r\n\t"
        + RFC5322.format(receivedAt) + "\r\n";
    List<Tuple> stored = new ArrayList<>();
    List<Tuple> notices = new ArrayList<>();
    for (Map.Entry<AccountRules, List<ReceiptPlan>> e : byAccount(plans).entrySet()) {
      run(e.getKey(), e.getValue(), envelope, id, trace, message, receivedAt, stored, notices);
    }
    Future<Void> written = stored.isEmpty() && notices.isEmpty() ? Future.succeededFuture()
        : db.withTransaction(conn -> (stored.isEmpty() ? Future.<Void>succeededFuture()
            : conn.preparedQuery(STORE).executeBatch(stored).<Void>mapEmpty())
            .compose(v -> notices.isEmpty() ? Future.<Void>succeededFuture()
                : conn.preparedQuery(NOTIFY).executeBatch(notices).mapEmpty()));
    return written.map(v -> outcome.bounce() != null ? outcome.bounce()
        : new SmtpReply(250, "2.6.0", "Message received: " + id));
  }

  private static Map<AccountRules, List<ReceiptPlan>> byAccount(List<ReceiptPlan> plans) {
    Map<AccountRules, List<ReceiptPlan>> out = new LinkedHashMap<>();
    for (ReceiptPlan p : plans) {
      for (Chain c : p.chains()) {
        out.computeIfAbsent(c.account(), a -> new ArrayList<>()).add(p);
      }
    }
    return out;
  }

  /** One account's rules, in order, each for the recipients whose chain includes it. */
  private void run(AccountRules account, List<ReceiptPlan> plans, Envelope envelope, String id, String trace,
      byte[] message, Instant receivedAt, List<Tuple> stored, List<Tuple> notices) {
    List<String> destination = plans.stream().map(ReceiptPlan::recipient).toList();
    StringBuilder added = new StringBuilder();
    byte[] content = null;
    JsonObject mail = null;
    for (ReceiptRule rule : account.rules()) {
      List<String> recipients = new ArrayList<>();
      Step step = null;
      for (ReceiptPlan p : plans) {
        for (Chain c : p.chains()) {
          if (c.account() == account) {
            for (Step s : c.steps()) {
              if (s.rule() == rule) {
                recipients.add(p.recipient());
                step = s;
              }
            }
          }
        }
      }
      if (step == null) {
        continue;
      }
      for (ReceiptAction action : step.actions()) {
        if (action instanceof ReceiptAction.AddHeader h) {
          added.append(h.headerName()).append(": ").append(h.headerValue()).append("\r\n");
          content = null;
          mail = null;
          continue;
        }
        if (content == null) {
          content = concat((trace + added).getBytes(StandardCharsets.UTF_8), message);
        }
        if (action instanceof ReceiptAction.S3 s3) {
          stored.add(Tuple.of(account.accountId(), s3.bucketName(), s3.objectKey(id), id, content,
              Timestamps.utc(receivedAt)));
        }
        if (action.topicArn() == null) {
          continue;
        }
        if (mail == null) {
          mail = SesEvents.receivedMail(id, envelope.reversePath(), receivedAt, destination, content);
        }
        JsonObject notice = new JsonObject()
            .put("notificationType", "Received")
            .put("mail", mail)
            .put("receipt", receipt(rule, recipients, action, id, receivedAt));
        if (action instanceof ReceiptAction.Sns sns) {
          notice.put("content", ReceiptAction.Sns.BASE64.equals(sns.encoding())
              ? Base64.getEncoder().encodeToString(content) : new String(content, StandardCharsets.UTF_8));
        }
        notices.add(Tuple.of(account.accountId(), action.topicArn(), id, notice.encode(), Timestamps.utc(receivedAt)));
      }
    }
  }

  private JsonObject receipt(ReceiptRule rule, List<String> recipients, ReceiptAction action, String id,
      Instant receivedAt) {
    JsonObject gray = new JsonObject().put("status", "GRAY");
    JsonObject scan = rule.scanEnabled() ? gray : new JsonObject().put("status", "DISABLED");
    return new JsonObject()
        .put("timestamp", SesEvents.time(receivedAt))
        .put("processingTimeMillis", Math.max(0, clock.millis() - receivedAt.toEpochMilli()))
        .put("recipients", new JsonArray(List.copyOf(recipients)))
        .put("spamVerdict", scan)
        .put("virusVerdict", scan.copy())
        .put("spfVerdict", gray.copy())
        .put("dkimVerdict", gray.copy())
        .put("dmarcVerdict", gray.copy())
        .put("action", action(action, id));
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

  private static byte[] concat(byte[] head, byte[] body) {
    byte[] out = new byte[head.length + body.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length, body.length);
    return out;
  }
}
