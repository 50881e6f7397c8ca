package io.mailgate.events;

import io.mailgate.NetAddresses;
import io.mailgate.send.EncodedWordDecoder;
import io.mailgate.send.HeaderBlock;
import io.mailgate.send.MessageIds;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds events in SES's event publishing JSON ({@code eventType}, {@code mail} and the type's
 * object), so consumers written for SES parse them unchanged. Detail objects are stored; the mail
 * object is rendered from the message when an event is read or published.
 */
public final class SesEvents {
  /** SES truncates the headers in the mail object beyond this size. */
  public static final int MAX_HEADER_BYTES = 10 * 1024;

  private SesEvents() {}

  /**
   * What a {@code mail} object is made of. {@code identityAccount} and {@code identityName}: the identity the message
   * was sent from, when a delegate sent it from another account's identity (its {@code sourceArn} is then that
   * identity's, as in SES); null for the sender's own. {@code operation}: the SES operation it was sent with, its
   * {@code ses:operation} tag (null: none, Mailgate's own mail). {@code sourceTls}: the TLS protocol the caller sent
   * it over (null: plain text, or not known).
   */
  public record MailFacts(String messageId, String accountId, String region, String source, Instant timestamp,
      List<String> destination, String configurationSet, JsonArray tags, byte[] headerBytes, String sourceIp,
      String callerIdentity, String identityAccount, String identityName, String operation, byte[] replacedFields,
      String sourceTls) {

    /** Facts of a message sent in plain text, or over a TLS protocol not known. */
    public MailFacts(String messageId, String accountId, String region, String source, Instant timestamp,
        List<String> destination, String configurationSet, JsonArray tags, byte[] headerBytes, String sourceIp,
        String callerIdentity, String identityAccount, String identityName, String operation, byte[] replacedFields) {
      this(messageId, accountId, region, source, timestamp, destination, configurationSet, tags, headerBytes, sourceIp,
          callerIdentity, identityAccount, identityName, operation, replacedFields, null);
    }

    /**
     * The caller's own fields of those its content has Mailgate's in place of (Date, Message-ID), as SES's events
     * show them; null when none was replaced, or they cannot be read.
     */
    HeaderBlock original() {
      if (replacedFields == null || replacedFields.length == 0) {
        return null;
      }
      try {
        return HeaderBlock.parse(replacedFields);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
  }

  public static JsonObject delivery(Instant at, long processingMillis, String recipient, String smtpResponse,
      String reportingMta, String remoteMtaIp) {
    JsonObject d = new JsonObject()
        .put("timestamp", time(at))
        .put("processingTimeMillis", processingMillis)
        .put("recipients", new JsonArray().add(recipient))
        .put("smtpResponse", smtpResponse)
        .put("reportingMTA", reportingMta);
    if (remoteMtaIp(remoteMtaIp) != null) {
      d.put("remoteMtaIp", remoteMtaIp);
    }
    return d;
  }

  /**
   * What an event's {@code remoteMtaIp} holds: the address of the host that answered, as SES writes it, or null (the
   * field left out) where there is only a name: a relay not reached, the mailbox simulator, which answers for no host.
   */
  public static String remoteMtaIp(String remoteMta) {
    return remoteMta != null && NetAddresses.literal(remoteMta) != null ? remoteMta : null;
  }

  public static JsonObject bounce(String bounceType, String bounceSubType, String recipient, String status,
      String diagnosticCode, Instant at, String reportingMta, String remoteMtaIp) {
    JsonObject r = new JsonObject().put("emailAddress", recipient).put("action", "failed");
    if (status != null) {
      r.put("status", status);
    }
    if (diagnosticCode != null) {
      r.put("diagnosticCode", diagnosticCode);
    }
    JsonObject b = new JsonObject()
        .put("bounceType", bounceType)
        .put("bounceSubType", bounceSubType)
        .put("bouncedRecipients", new JsonArray().add(r))
        .put("timestamp", time(at))
        .put("feedbackId", MessageIds.next(at));
    if (reportingMta != null) {
      b.put("reportingMTA", "dns; " + reportingMta);
    }
    if (remoteMtaIp(remoteMtaIp) != null) {
      b.put("remoteMtaIp", remoteMtaIp);
    }
    return b;
  }

  /**
   * A complaint detail about {@code recipient} at {@code at}: {@code complaintSubType} null for a recipient's own
   * complaint, {@code OnAccountSuppressionList} for a send not made because the account's list holds the address for
   * one. What the report says (userAgent, complaintFeedbackType, arrivalDate) is the caller's to add.
   */
  public static JsonObject complaint(String recipient, Instant at, String subType) {
    return new JsonObject()
        .put("complainedRecipients", new JsonArray().add(new JsonObject().put("emailAddress", recipient)))
        .put("timestamp", time(at))
        .put("feedbackId", MessageIds.next(at))
        .put("complaintSubType", subType);
  }

  /** SES's event timestamps: UTC, always with milliseconds ({@code 2016-10-14T05:02:52.574Z}). */
  public static String time(Instant t) {
    return TIME.format(t);
  }

  private static final java.time.format.DateTimeFormatter TIME = java.time.format.DateTimeFormatter
      .ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);

  /**
   * Where a Delivery's detail, as stored, keeps the tags its event adds to the message's ({@code mail.tags}): those of
   * the connection it went over ({@link #sentOver}). Not part of the detail as published.
   */
  static final String MAIL_TAGS = "mailTags";

  /**
   * A Delivery's {@code detail} with the {@code ses:outgoing-ip} and {@code ses:outgoing-tls-version} tags of the
   * connection it went over (left from {@code ip}, in {@code tlsVersion}; either may be null), which its event adds to
   * the message's tags. SES tags its Deliveries alone so: not a Send, a Bounce (a server's refusal included), a
   * Complaint, an Open or a Click of the same message.
   */
  public static JsonObject sentOver(JsonObject detail, String ip, String tlsVersion) {
    JsonObject tags = new JsonObject();
    if (ip != null) {
      tags.put("ses:outgoing-ip", new JsonArray().add(ip));
    }
    if (tlsVersion != null) {
      tags.put("ses:outgoing-tls-version", new JsonArray().add(tlsVersion));
    }
    return tags.isEmpty() ? detail : detail.put(MAIL_TAGS, tags);
  }

  public static JsonObject event(EventType type, JsonObject mail, JsonObject detail) {
    Object added = detail.getValue(MAIL_TAGS);
    if (type == EventType.DELIVERY && added instanceof JsonObject tags) {
      // the message's mail object is shared by its events: this one's is a copy, with the connection's tags after
      // SES's own (before the message's)
      mail = new JsonObject(new java.util.LinkedHashMap<>(mail.getMap())).put("tags", withTags(mail, tags));
    }
    return new JsonObject().put("eventType", type.sesName).put("mail", mail).put(type.detailField, published(detail));
  }

  private static JsonObject withTags(JsonObject mail, JsonObject added) {
    JsonObject tags = new JsonObject();
    Object had = mail.getValue("tags");
    boolean pending = true;
    if (had instanceof JsonObject own) {
      for (Map.Entry<String, Object> t : own) {
        if (pending && !t.getKey().startsWith("ses:")) {
          tags.mergeIn(added);
          pending = false;
        }
        tags.put(t.getKey(), t.getValue());
      }
    }
    return pending ? tags.mergeIn(added) : tags;
  }

  /** {@code detail} as published: without what it keeps for the event's mail object ({@link #MAIL_TAGS}). */
  private static JsonObject published(JsonObject detail) {
    if (!detail.containsKey(MAIL_TAGS)) {
      return detail;
    }
    JsonObject copy = new JsonObject(new java.util.LinkedHashMap<>(detail.getMap()));
    copy.remove(MAIL_TAGS);
    return copy;
  }

  /**
   * An identity notification as SES posts it to the identity's topic (SetIdentityNotificationTopic):
   * {@code notificationType} rather than {@code eventType}, the notification's {@code mail} object, and the type's
   * object as in events.
   */
  public static JsonObject notification(EventType type, JsonObject mail, JsonObject detail) {
    return new JsonObject().put("notificationType", type.sesName).put("mail", mail)
        .put(type.detailField, published(detail));
  }

  /**
   * The {@code mail} object of a notification to {@code identity}'s topic: no tags; {@code sourceIp} and
   * {@code callerIdentity} of their own (the caller's access key: not for another account's topic, a delegate's message
   * notified to the identity's owner); {@code sourceArn} the identity's; the headers only when the identity has them
   * included for the notification's type ({@code withHeaders}). {@code topicAccount}: the account whose topic it is.
   */
  public static JsonObject notificationMail(MailFacts f, String identity, boolean withHeaders, String topicAccount) {
    JsonObject mail = new JsonObject()
        .put("timestamp", time(f.timestamp()))
        .put("messageId", f.messageId())
        .put("source", f.source())
        .put("sourceArn", arn(f.region(), topicAccount, identity));
    if (f.sourceIp() != null) {
      mail.put("sourceIp", f.sourceIp());
    }
    if (f.callerIdentity() != null && f.accountId().equals(topicAccount)) {
      mail.put("callerIdentity", f.callerIdentity());
    }
    mail.put("sendingAccountId", f.accountId()).put("destination", new JsonArray(List.copyOf(f.destination())));
    if (withHeaders) {
      // a notification's commonHeaders.messageId is the message's Message-ID header, the caller's own when it gave one
      // (SES's examples: "custom-message-ID"), where an event's is the SES message ID
      HeaderBlock original = f.original();
      HeaderBlock.Field given = original == null ? null : original.first("Message-ID");
      headers(mail, f.headerBytes(), given == null ? f.messageId() : original.rawValue(given).strip(), original);
    }
    return mail;
  }

  /**
   * The ARN of the identity a message was sent from: the one it was sent as (another account's, or the sender's own
   * verified address or domain), else, for a message stored before that was kept, its Source's domain.
   */
  private static String sourceArn(MailFacts f) {
    return f.identityName() != null ? arn(f.region(), f.identityAccount(), f.identityName())
        : arn(f.region(), f.accountId(), domainOf(f.source()));
  }

  private static String arn(String region, String account, String identity) {
    return "arn:aws:ses:" + region + ":" + account + ":identity/" + identity;
  }

  public static JsonObject mail(MailFacts f) {
    JsonObject mail = new JsonObject()
        .put("timestamp", time(f.timestamp()))
        .put("source", f.source())
        .put("sourceArn", sourceArn(f))
        .put("sendingAccountId", f.accountId())
        .put("messageId", f.messageId())
        .put("destination", new JsonArray(List.copyOf(f.destination())));
    if (f.headerBytes().length == 0) {
      mail.put("headersTruncated", false); // no content (it could not be rendered): no headers, as in SES's events
    } else {
      headers(mail, f.headerBytes(), f.messageId(), f.original());
    }
    mail.put("tags", tags(f));
    return mail;
  }

  /**
   * The {@code mail} object of a receipt notification (SES's "Received"): the envelope's sender and recipients, and
   * the message's headers; {@code commonHeaders.messageId} is its Message-ID header.
   */
  public static JsonObject receivedMail(String messageId, String source, Instant timestamp, List<String> destination,
      NotifiedHeaders headers) {
    JsonObject mail = new JsonObject()
        .put("timestamp", time(timestamp))
        .put("source", source)
        .put("messageId", messageId)
        .put("destination", new JsonArray(List.copyOf(destination)));
    headers.putInto(mail);
    return mail;
  }

  /**
   * A header field of a received message, as a lenient reader finds it: its name, what follows its colon (unfolded,
   * not stripped) and the bytes its lines take.
   */
  public record ReceivedField(String name, String value, int size) {}

  /**
   * The header fields of a received message that its notifications show: {@code head}, the first ones, as many as take
   * no more than the mail object's {@code headers} may ({@link #MAX_HEADER_BYTES}), and whether they are all of them
   * ({@code complete}); {@code common}, the first field of each name {@code commonHeaders} reads ({@link
   * #COMMON_HEADERS}, lower case), wherever it is in the header section (up to where it was read).
   */
  public record ReceivedFields(List<ReceivedField> head, boolean complete, Map<String, ReceivedField> common) {}

  /** The fields {@code commonHeaders} is made of, lower case. */
  public static final Set<String> COMMON_HEADERS =
      Set.of("from", "reply-to", "to", "cc", "return-path", "date", "message-id", "subject");

  /**
   * The {@code headers}, {@code headersTruncated} and {@code commonHeaders} of a received message's notifications:
   * the fields put before the message's own (Mailgate's Return-Path and Received, then AddHeader actions' ones), then
   * the message's, read once per message ({@link ReceivedFields}) and each made into JSON once, whatever is added
   * before them. Received mail is whatever was sent: its fields are found leniently, not with the sending side's
   * strict {@link HeaderBlock}, which gives up on a whole header section for one malformed line.
   */
  public static final class NotifiedHeaders {
    private final List<ReceivedField> fields;
    private final List<JsonObject> json;
    /** How many of the fields were put before the message's own. */
    private final int leading;
    private final boolean complete;
    private final Map<String, ReceivedField> common;

    private NotifiedHeaders(List<ReceivedField> fields, List<JsonObject> json, int leading, boolean complete,
        Map<String, ReceivedField> common) {
      this.fields = fields;
      this.json = json;
      this.leading = leading;
      this.complete = complete;
      this.common = common;
    }

    /** A message's own fields. */
    public static NotifiedHeaders of(ReceivedFields message) {
      List<JsonObject> json = new ArrayList<>(message.head().size());
      message.head().forEach(f -> json.add(json(f)));
      return new NotifiedHeaders(message.head(), json, 0, message.complete(), message.common());
    }

    /** These headers with {@code added} after the fields put before the message's own so far. */
    public NotifiedHeaders withLeading(List<ReceivedField> added) {
      List<ReceivedField> f = new ArrayList<>(fields.size() + added.size());
      List<JsonObject> j = new ArrayList<>(fields.size() + added.size());
      f.addAll(fields.subList(0, leading));
      j.addAll(json.subList(0, leading));
      Map<String, ReceivedField> c = new HashMap<>(common);
      Set<String> seen = new HashSet<>();
      fields.subList(0, leading).forEach(x -> seen.add(x.name().toLowerCase(Locale.ROOT)));
      for (ReceivedField a : added) {
        f.add(a);
        j.add(json(a));
        String key = a.name().toLowerCase(Locale.ROOT);
        if (COMMON_HEADERS.contains(key) && seen.add(key)) {
          c.put(key, a); // a field put before the message's own comes first
        }
      }
      f.addAll(fields.subList(leading, fields.size()));
      j.addAll(json.subList(leading, json.size()));
      return new NotifiedHeaders(f, j, leading + added.size(), complete, c);
    }

    private static JsonObject json(ReceivedField f) {
      return new JsonObject().put("name", f.name()).put("value", f.value().strip());
    }

    void putInto(JsonObject mail) {
      JsonArray headers = new JsonArray();
      boolean truncated = !complete;
      int size = 0;
      for (int i = 0; i < fields.size(); i++) {
        size += fields.get(i).size();
        if (size > MAX_HEADER_BYTES) {
          truncated = true;
          break;
        }
        headers.add(json.get(i));
      }
      JsonObject c = new JsonObject();
      for (String[] h : new String[][] {{"from", "from"}, {"reply-to", "replyTo"}, {"to", "to"}, {"cc", "cc"}}) {
        ReceivedField field = common.get(h[0]);
        if (field != null) {
          c.put(h[1], decodedAddresses(field.value().strip()));
        }
      }
      ReceivedField returnPath = common.get("return-path");
      if (returnPath != null) { // the address, as SES gives it: without its angle brackets
        String path = returnPath.value().strip();
        c.put("returnPath", path.length() >= 2 && path.startsWith("<") && path.endsWith(">")
            ? path.substring(1, path.length() - 1).strip() : path);
      }
      ReceivedField date = common.get("date");
      if (date != null) {
        c.put("date", date.value().strip());
      }
      ReceivedField id = common.get("message-id");
      if (id != null) {
        c.put("messageId", id.value().strip());
      }
      ReceivedField subject = common.get("subject");
      if (subject != null) {
        c.put("subject", decoded(subject.value()));
      }
      mail.put("headersTruncated", truncated).put("headers", headers).put("commonHeaders", c);
    }

    /** A value with RFC 2047 encoded words decoded, as {@link HeaderBlock#decodedValue} decodes them. */
    private static String decoded(String value) {
      String v = value.strip();
      return EncodedWordDecoder.decode(v);
    }
  }

  /**
   * {@code headers}, {@code headersTruncated} and {@code commonHeaders} from the start of a message; a field of the
   * {@code original} ones (the caller's Date and Message-ID the content has Mailgate's in place of) shown as the
   * caller wrote it, as SES shows "the headers of the original message".
   */
  private static void headers(JsonObject mail, byte[] headerBytes, String messageId, HeaderBlock original) {
    JsonArray headers = new JsonArray();
    JsonObject common = new JsonObject();
    boolean truncated = false;
    HeaderBlock block;
    try {
      block = HeaderBlock.parse(headerBytes);
    } catch (IllegalArgumentException e) {
      // the storage limit cut a field inside its name: the fields before it are read, and said to be cut
      truncated = true;
      try {
        block = HeaderBlock.parse(java.util.Arrays.copyOf(headerBytes, lastFieldStart(headerBytes)));
      } catch (IllegalArgumentException again) {
        block = null;
      }
    }
    if (block != null) {
      int size = 0;
      for (HeaderBlock.Field field : block.fields()) {
        String own = block.rawValue(field);
        String given = given(field, original);
        String value = given == null ? own : given;
        // a caller's own field shown in place of Mailgate's counts as long as it is
        size += field.end() - field.start() + (given == null ? 0 : Math.max(0, given.length() - own.length()));
        if (size > MAX_HEADER_BYTES) {
          truncated = true;
          break;
        }
        headers.add(new JsonObject().put("name", field.name()).put("value", value));
      }
      commonHeaders(block, common, messageId, original);
    }
    mail.put("headersTruncated", truncated).put("headers", headers).put("commonHeaders", common);
  }

  /** The {@code original} field's value of {@code field}'s name (Date, Message-ID) when there is one, else null. */
  private static String given(HeaderBlock.Field field, HeaderBlock original) {
    if (original != null && (field.is("Date") || field.is("Message-ID"))) {
      HeaderBlock.Field given = original.first(field.name());
      if (given != null) {
        return original.rawValue(given);
      }
    }
    return null;
  }

  /** Where the last field of {@code header} begins (after a line feed, not a folded line's); 0 if none does. */
  static int lastFieldStart(byte[] header) {
    for (int i = header.length - 1; i >= 1; i--) {
      if (header[i - 1] == '\n' && header[i] != ' ' && header[i] != '\t') {
        return i;
      }
    }
    return 0;
  }

  /**
   * {@code commonHeaders.messageId} is the SES message ID in SES's sending events, not the Message-ID header; the
   * Message-ID header's value when {@code messageId} is null (receipt notifications).
   */
  private static void commonHeaders(HeaderBlock block, JsonObject common, String messageId, HeaderBlock original) {
    for (String[] h : new String[][] {{"From", "from"}, {"Reply-To", "replyTo"}, {"To", "to"}, {"Cc", "cc"}}) {
      HeaderBlock.Field field = block.first(h[0]);
      if (field != null) {
        common.put(h[1], decodedAddresses(block.rawValue(field)));
      }
    }
    HeaderBlock.Field returnPath = block.first("Return-Path");
    if (returnPath != null) {
      common.put("returnPath", block.rawValue(returnPath));
    }
    HeaderBlock.Field date = block.first("Date");
    if (date != null) {
      String given = given(date, original);
      common.put("date", given != null ? given : block.rawValue(date));
    }
    HeaderBlock.Field header = messageId == null ? block.first("Message-ID") : null;
    if (messageId != null || header != null) {
      common.put("messageId", messageId != null ? messageId : block.rawValue(header).strip());
    }
    HeaderBlock.Field subject = block.first("Subject");
    if (subject != null) {
      common.put("subject", block.decodedValue(subject));
    }
  }

  /**
   * The addresses of an address list, each with its encoded words decoded: split first, so that a comma an encoded
   * word carries (an Outlook "Last, First" name, {@code =?UTF-8?Q?M=C3=BCller=2C_Hans?=}) stays in its address, and
   * a decoded name holding what an address's syntax gives a meaning (that comma, a period, a quote) quoted, as
   * JavaMail's {@code toUnicodeString} writes it: {@code "Müller, Hans" <h@example.com>}, one address still to
   * whoever parses it.
   */
  static JsonArray decodedAddresses(String raw) {
    JsonArray out = new JsonArray();
    for (Object address : splitAddresses(raw)) {
      out.add(displayed(EncodedWordDecoder.decode((String) address)));
    }
    return out;
  }

  private static final String SPECIALS = "()<>@,;:\\\".[]";

  /**
   * An address as JavaMail's {@code toUnicodeString} writes it (SES's commonHeaders): a display name in quotes only
   * when it needs them (it holds a special), so {@code "John Doe" <j@example.com>} is {@code John Doe <j@example.com>}
   * and a decoded {@code Müller, Hans} is quoted. A name that is one quoted string is read from it first; anything
   * else is taken as written.
   */
  private static String displayed(String address) {
    int angle = address.lastIndexOf('<');
    String name = angle > 0 && address.endsWith(">") ? address.substring(0, angle).strip() : "";
    String plain = name.length() >= 2 && name.charAt(0) == '"' ? unquoted(name) : name;
    if (plain == null || plain.isEmpty()) {
      return address;
    }
    boolean special = false;
    for (int i = 0; i < plain.length() && !special; i++) {
      special = SPECIALS.indexOf(plain.charAt(i)) >= 0;
    }
    String mailbox = address.substring(angle);
    return special ? "\"" + plain.replace("\\", "\\\\").replace("\"", "\\\"") + "\" " + mailbox
        : plain + " " + mailbox;
  }

  /** The text of {@code name} when it is one quoted string, its quoted pairs undone; null when it is more. */
  private static String unquoted(String name) {
    StringBuilder text = new StringBuilder(name.length());
    for (int i = 1; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '"') {
        return i == name.length() - 1 ? text.toString() : null;
      }
      if (c == '\\' && i + 1 < name.length()) {
        c = name.charAt(++i);
      }
      text.append(c);
    }
    return null; // never closed
  }

  /** Splits an address list at top-level commas (not inside quotes or angle brackets). */
  static JsonArray splitAddresses(String value) {
    JsonArray out = new JsonArray();
    boolean quoted = false;
    int depth = 0;
    int start = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\\' && quoted) {
        i++;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == '<') {
        depth++;
      } else if (!quoted && c == '>') {
        depth--;
      } else if (!quoted && depth == 0 && c == ',') {
        addTrimmed(out, value.substring(start, i));
        start = i + 1;
      }
    }
    addTrimmed(out, value.substring(start));
    return out;
  }

  private static void addTrimmed(JsonArray out, String s) {
    String t = s.strip();
    if (!t.isEmpty()) {
      out.add(t);
    }
  }

  private static JsonObject tags(MailFacts f) {
    return tags(f.operation(), f.configurationSet(), f.sourceIp(), f.sourceTls(), f.source(), f.callerIdentity(),
        f.tags());
  }

  /**
   * A message's tags as its events' {@code mail.tags} have them, name to values: SES's auto-tags (the operation it was
   * sent with, its configuration set, the sender's IP address and the TLS protocol it sent over, the From domain, the
   * caller's key), then its own ({@code own}: {@code {Name, Value}} objects, or null).
   */
  public static JsonObject tags(String operation, String configurationSet, String sourceIp, String sourceTls,
      String source, String callerIdentity, JsonArray own) {
    JsonObject tags = new JsonObject();
    if (operation != null) {
      tags.put("ses:operation", new JsonArray().add(operation));
    }
    if (configurationSet != null) {
      tags.put("ses:configuration-set", new JsonArray().add(configurationSet));
    }
    if (sourceIp != null) {
      tags.put("ses:source-ip", new JsonArray().add(sourceIp));
    }
    if (sourceTls != null) {
      tags.put("ses:source-tls-version", new JsonArray().add(sourceTls));
    }
    tags.put("ses:from-domain", new JsonArray().add(domainOf(source)));
    if (callerIdentity != null) {
      tags.put("ses:caller-identity", new JsonArray().add(callerIdentity));
    }
    if (own != null) {
      for (int i = 0; i < own.size(); i++) {
        JsonObject t = own.getJsonObject(i);
        tags.put(t.getString("Name"), new JsonArray().add(t.getString("Value")));
      }
    }
    return tags;
  }

  static String domainOf(String address) {
    int at = address.lastIndexOf('@');
    return at < 0 ? address : address.substring(at + 1).toLowerCase(Locale.ROOT);
  }
}
