package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A sending authorization policy: the JSON document an identity's owner attaches to it (SES's policy anatomy) to let
 * other accounts send from it, read and checked as SES checks it when it is stored, and evaluated for a send.
 *
 * <p>Each statement has an Effect (Allow or Deny), a Principal ({@code "*"}, or {@code {"AWS": ...}} with 12-digit
 * account ids or {@code arn:aws:iam::<account>:root}; other IAM ARNs and {@code Service} principals are accepted but
 * match no Mailgate caller), an Action (the sending actions or a wildcard over them), a Resource (the identity's own
 * ARN) and an optional Condition. An explicit Deny wins over any Allow; without an Allow a send is refused.
 *
 * <p>Conditions: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike and
 * StringNotLike on {@code ses:FromAddress}, {@code ses:FromDisplayName}, {@code ses:FeedbackAddress} and
 * {@code ses:Recipients} (without a prefix, an Allow needs every recipient to satisfy it, SES's ForAllValues, and a Deny
 * applies when any recipient does, so that one listed recipient among others cannot slip through; a
 * {@code ForAnyValue:} or {@code ForAllValues:} prefix says which), and DateGreaterThan(Equals) / DateLessThan(Equals)
 * on {@code aws:CurrentTime}. Addresses are compared without regard to case. A Deny statement is tested against every
 * sender address of the message ({@link Request#otherFroms}) as {@code ses:FromAddress}, not only the one asked for. A condition Mailgate cannot evaluate (another key or operator, a date it cannot read) fails closed:
 * an Allow statement with it grants nothing, a Deny statement with it denies.
 */
public final class IdentityPolicy {
  /** SES's limits: a policy is at most 4 KB of JSON, an identity has at most 20. */
  public static final int MAX_BYTES = 4096;
  public static final int MAX_PER_IDENTITY = 20;

  public static final List<String> SENDING_ACTIONS = List.of("ses:SendEmail", "ses:SendRawEmail",
      "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:SendBulkEmail");
  private static final Set<String> STATEMENT_FIELDS = Set.of("Sid", "Effect", "Principal", "Action", "Resource",
      "Condition");
  private static final Set<String> POLICY_FIELDS = Set.of("Version", "Id", "Statement");

  /**
   * What a send asks of the policy: the calling account, the action, and the values of the condition keys.
   *
   * @param fromAddress the address the identity is named for ({@code ses:FromAddress})
   * @param fromDisplayName null when that address has no display name (the key is then absent)
   * @param feedbackAddress the Return-Path the send asked for, or its From address
   * @param otherFroms the message's other sender addresses (Source, From mailboxes, Sender): no Deny may match any of
   *     them as {@code ses:FromAddress} either
   */
  public record Request(String callerAccount, String action, String fromAddress, String fromDisplayName,
      String feedbackAddress, List<String> recipients, Instant now, List<FromMailbox> otherFroms) {
    public Request(String callerAccount, String action, String fromAddress, String fromDisplayName,
        String feedbackAddress, List<String> recipients, Instant now) {
      this(callerAccount, action, fromAddress, fromDisplayName, feedbackAddress, recipients, now, List.of());
    }

    Request asFrom(FromMailbox m) {
      return new Request(callerAccount, action, m.address(), m.displayName(), feedbackAddress, recipients, now,
          List.of());
    }
  }

  /** A sender address of the message and its display name (null when it has none). */
  public record FromMailbox(String address, String displayName) {}

  private record Statement(boolean allow, List<String> principals, List<String> actions, JsonObject condition) {}

  private enum Truth { TRUE, FALSE, UNKNOWN }

  private final List<Statement> statements;

  private IdentityPolicy(List<Statement> statements) {
    this.statements = statements;
  }

  /**
   * Reads and checks a policy for the identity {@code resourceArn}; InvalidPolicy (BadRequest in v2) with what is
   * wrong when it is not one SES would take.
   */
  public static IdentityPolicy parse(String json, String resourceArn) {
    if (json == null || json.isBlank()) {
      throw invalid("Policy is empty.");
    }
    if (json.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
      throw invalid("Policy is larger than " + MAX_BYTES + " bytes.");
    }
    JsonObject doc;
    try {
      doc = new JsonObject(json);
    } catch (DecodeException | ClassCastException e) {
      throw invalid("Policy is not a JSON object.");
    }
    for (String field : doc.fieldNames()) {
      if (!POLICY_FIELDS.contains(field)) {
        throw invalid("Unknown field " + field + ".");
      }
    }
    Object version = doc.getValue("Version");
    if (version != null && !"2012-10-17".equals(version) && !"2008-10-17".equals(version)) {
      throw invalid("Version must be 2012-10-17 or 2008-10-17.");
    }
    Object given = doc.getValue("Statement");
    List<Object> raw = given instanceof JsonArray a ? a.getList() : given == null ? List.of() : List.of(given);
    if (raw.isEmpty()) {
      throw invalid("Policy has no Statement.");
    }
    List<Statement> statements = new ArrayList<>(raw.size());
    for (Object s : raw) {
      statements.add(statement(s instanceof Map<?, ?> m ? new JsonObject(cast(m)) : s, resourceArn));
    }
    return new IdentityPolicy(List.copyOf(statements));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }

  private static Statement statement(Object given, String resourceArn) {
    if (!(given instanceof JsonObject s)) {
      throw invalid("Each Statement must be a JSON object.");
    }
    for (String field : s.fieldNames()) {
      if (!STATEMENT_FIELDS.contains(field)) {
        throw invalid("Unsupported field " + field + " in a Statement (Mailgate supports "
            + String.join(", ", new java.util.TreeSet<>(STATEMENT_FIELDS)) + ").");
      }
    }
    Object effect = s.getValue("Effect");
    if (!"Allow".equals(effect) && !"Deny".equals(effect)) {
      throw invalid("Statement Effect must be Allow or Deny.");
    }
    List<String> principals = principals(s.getValue("Principal"));
    List<String> actions = strings(s.getValue("Action"), "Action");
    for (String a : actions) {
      if (SENDING_ACTIONS.stream().noneMatch(known -> like(known.toLowerCase(Locale.ROOT), a.toLowerCase(Locale.ROOT)))) {
        throw invalid("Action " + a + " is not a sending action: use " + String.join(", ", SENDING_ACTIONS)
            + " or ses:*.");
      }
    }
    for (String r : strings(s.getValue("Resource"), "Resource")) {
      if (!r.equalsIgnoreCase(resourceArn)) {
        throw invalid("Resource " + r + " is not this identity: use " + resourceArn + ".");
      }
    }
    Object condition = s.getValue("Condition");
    if (condition != null && !(condition instanceof JsonObject)) {
      throw invalid("Statement Condition must be a JSON object.");
    }
    JsonObject c = (JsonObject) condition;
    if (c != null) {
      for (String operator : c.fieldNames()) {
        if (!(c.getValue(operator) instanceof JsonObject keys) || keys.isEmpty()) {
          throw invalid("Condition " + operator + " must map condition keys to values.");
        }
        for (String key : keys.fieldNames()) {
          values(keys.getValue(key), "Condition " + operator + " " + key);
        }
      }
    }
    return new Statement("Allow".equals(effect), principals, List.copyOf(actions), c);
  }

  private static List<String> principals(Object given) {
    if ("*".equals(given)) {
      return List.of("*");
    }
    if (!(given instanceof JsonObject p) || p.isEmpty()) {
      throw invalid("Statement Principal must be \"*\" or {\"AWS\": <account ids or ARNs>}.");
    }
    List<String> out = new ArrayList<>();
    for (String kind : p.fieldNames()) {
      if (kind.equals("AWS")) {
        for (String v : strings(p.getValue(kind), "Principal AWS")) {
          if (!v.equals("*") && !IdentityArn.isAccountId(v) && !v.startsWith("arn:aws:iam::")) {
            throw invalid("Principal AWS " + v + " is neither an account id nor an IAM ARN.");
          }
          out.add(v);
        }
      } else if (kind.equals("Service")) {
        strings(p.getValue(kind), "Principal Service"); // checked; no Mailgate caller is an AWS service
      } else {
        throw invalid("Principal " + kind + " is not supported: use AWS or Service.");
      }
    }
    return List.copyOf(out);
  }

  /** A string or a non-empty array of strings. */
  private static List<String> strings(Object given, String what) {
    List<String> out = values(given, what);
    if (out.isEmpty()) {
      throw invalid("Statement " + what + " is missing.");
    }
    return out;
  }

  /** A condition's or a field's values: a string (or number, or boolean) or an array of them. */
  private static List<String> values(Object given, String what) {
    if (given == null) {
      throw invalid("Statement " + what + " is missing.");
    }
    List<Object> raw = given instanceof JsonArray a ? a.getList() : List.of(given);
    List<String> out = new ArrayList<>(raw.size());
    for (Object v : raw) {
      if (!(v instanceof String || v instanceof Number || v instanceof Boolean)) {
        throw invalid(what + " must be a string or a list of strings.");
      }
      out.add(String.valueOf(v));
    }
    return out;
  }

  private static SesException invalid(String message) {
    return new SesException(SesError.INVALID_POLICY, "Invalid policy: " + message);
  }

  /** The verdict of a set of policies: allowed only when some statement allows and none denies. */
  public static boolean allows(List<IdentityPolicy> policies, Request request) {
    boolean allowed = false;
    for (IdentityPolicy p : policies) {
      for (Statement s : p.statements) {
        if (!matchesPrincipal(s, request.callerAccount()) || !matchesAction(s, request.action())) {
          continue;
        }
        if (s.allow()) {
          allowed |= conditions(s, request) == Truth.TRUE;
        } else if (denies(s, request)) {
          return false; // an explicit Deny (or one Mailgate cannot rule out) wins
        }
      }
    }
    return allowed;
  }

  /** Whether a Deny statement applies to the request, or to any other sender address of the message. */
  private static boolean denies(Statement s, Request request) {
    if (conditions(s, request) != Truth.FALSE) {
      return true;
    }
    for (FromMailbox m : request.otherFroms()) {
      if (conditions(s, request.asFrom(m)) != Truth.FALSE) {
        return true;
      }
    }
    return false;
  }

  private static boolean matchesPrincipal(Statement s, String account) {
    for (String p : s.principals()) {
      if (p.equals("*") || p.equals(account) || p.equals("arn:aws:iam::" + account + ":root")) {
        return true;
      }
    }
    return false;
  }

  private static boolean matchesAction(Statement s, String action) {
    String a = action.toLowerCase(Locale.ROOT);
    for (String pattern : s.actions()) {
      if (like(a, pattern.toLowerCase(Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }

  /** All of the statement's conditions: every operator, every key in it. */
  private static Truth conditions(Statement s, Request r) {
    JsonObject condition = s.condition();
    if (condition == null) {
      return Truth.TRUE;
    }
    Truth all = Truth.TRUE;
    for (String operator : condition.fieldNames()) {
      JsonObject keys = condition.getJsonObject(operator);
      for (String key : keys.fieldNames()) {
        Truth t = condition(operator, key, values(keys.getValue(key), key), r, s.allow());
        if (t == Truth.FALSE) {
          return Truth.FALSE;
        }
        if (t == Truth.UNKNOWN) {
          all = Truth.UNKNOWN;
        }
      }
    }
    return all;
  }

  /**
   * @param inAllow whether the statement allows: without a prefix, a multi-valued key (ses:Recipients) needs every
   *     value to satisfy an Allow's condition, and any one to satisfy a Deny's (each fails closed)
   */
  private static Truth condition(String operator, String key, List<String> values, Request r, boolean inAllow) {
    String k = key.toLowerCase(Locale.ROOT);
    if (k.equals("aws:currenttime")) {
      return date(operator, values, r.now());
    }
    boolean forAll = operator.startsWith("ForAllValues:");
    boolean forAny = operator.startsWith("ForAnyValue:");
    boolean any = forAny || (!inAllow && !forAll);
    String op = forAll ? operator.substring("ForAllValues:".length())
        : forAny ? operator.substring("ForAnyValue:".length()) : operator;
    List<String> context;
    boolean address = true;
    switch (k) {
      case "ses:fromaddress" -> context = List.of(r.fromAddress());
      case "ses:feedbackaddress" -> context = List.of(r.feedbackAddress());
      case "ses:recipients" -> context = r.recipients();
      case "ses:fromdisplayname" -> {
        context = r.fromDisplayName() == null ? List.of() : List.of(r.fromDisplayName());
        address = false;
      }
      default -> {
        return Truth.UNKNOWN;
      }
    }
    boolean negated = op.startsWith("StringNot");
    boolean ignoreCase = address || op.endsWith("IgnoreCase");
    boolean glob = op.equals("StringLike") || op.equals("StringNotLike");
    if (!glob && !Set.of("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase")
        .contains(op)) {
      return Truth.UNKNOWN;
    }
    if (context.isEmpty()) {
      return negated ? Truth.TRUE : Truth.FALSE; // an absent key matches no value
    }
    for (String c : context) {
      boolean hit = false;
      for (String v : values) {
        String x = ignoreCase ? c.toLowerCase(Locale.ROOT) : c;
        String y = ignoreCase ? v.toLowerCase(Locale.ROOT) : v;
        if (glob ? like(x, y) : x.equals(y)) {
          hit = true;
          break;
        }
      }
      boolean satisfied = negated != hit;
      if (any && satisfied) {
        return Truth.TRUE;
      }
      if (!any && !satisfied) {
        return Truth.FALSE;
      }
    }
    return any ? Truth.FALSE : Truth.TRUE;
  }

  private static Truth date(String operator, List<String> values, Instant now) {
    if (!Set.of("DateGreaterThan", "DateGreaterThanEquals", "DateLessThan", "DateLessThanEquals").contains(operator)) {
      return Truth.UNKNOWN;
    }
    boolean any = false;
    for (String v : values) {
      Instant t;
      try {
        t = !v.isEmpty() && v.chars().allMatch(Character::isDigit) ? Instant.ofEpochSecond(Long.parseLong(v))
            : OffsetDateTime.parse(v).toInstant();
      } catch (DateTimeException | NumberFormatException e) {
        return Truth.UNKNOWN; // unreadable, or beyond what an Instant holds
      }
      any |= switch (operator) {
        case "DateGreaterThan" -> now.isAfter(t);
        case "DateGreaterThanEquals" -> !now.isBefore(t);
        case "DateLessThan" -> now.isBefore(t);
        default -> !now.isAfter(t);
      };
    }
    return any ? Truth.TRUE : Truth.FALSE;
  }

  /** IAM's StringLike: {@code *} any run of characters, {@code ?} one character. */
  static boolean like(String s, String pattern) {
    int si = 0;
    int pi = 0;
    int star = -1;
    int mark = 0;
    while (si < s.length()) {
      if (pi < pattern.length() && (pattern.charAt(pi) == '?' || pattern.charAt(pi) == s.charAt(si))) {
        si++;
        pi++;
      } else if (pi < pattern.length() && pattern.charAt(pi) == '*') {
        star = pi++;
        mark = si;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < pattern.length() && pattern.charAt(pi) == '*') {
      pi++;
    }
    return pi == pattern.length();
  }
}
