package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
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
 * account ids or {@code arn:aws:iam::<account>:root}; {@code Service} principals are accepted but match no Mailgate
 * caller), an Action (the sending actions or a wildcard over them), a Resource (the identity's own ARN) and an optional
 * Condition. Mailgate has no IAM users or roles, its callers are accounts: another IAM ARN of an account (a user, a
 * role) grants that account nothing in an Allow, and in a Deny stands for the whole account (fails closed). An explicit
 * Deny wins over any Allow; without an Allow a send is refused.
 *
 * <p>Conditions: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike and
 * StringNotLike on {@code ses:FromAddress}, {@code ses:FromDisplayName}, {@code ses:FeedbackAddress} and
 * {@code ses:Recipients} (without a prefix, an Allow needs every recipient to satisfy it, SES's ForAllValues, and a Deny
 * applies when any recipient does, so that one listed recipient among others cannot slip through; a
 * {@code ForAnyValue:} or {@code ForAllValues:} prefix says which), DateGreaterThan(Equals) / DateLessThan(Equals) on
 * {@code aws:CurrentTime}, each also as {@code ...IfExists} (true when the request has no such key), and Null on any of
 * those keys. Addresses are compared without regard to case. A Deny statement is tested against every sender address of
 * the message ({@link Request#otherFroms}) as {@code ses:FromAddress}, not only the one asked for. A condition Mailgate
 * cannot evaluate (another key or operator, a date it cannot read) is refused when the policy is stored; one stored
 * before that ({@link #parseStored}) fails closed: an Allow statement with it grants nothing, a Deny statement with it
 * denies.
 */
public final class IdentityPolicy {
  /** SES's limits: a policy is at most 4 KB of JSON, an identity has at most 20. */
  public static final int MAX_BYTES = 4096;
  public static final int MAX_PER_IDENTITY = 20;

  public static final List<String> SENDING_ACTIONS = List.of("ses:SendEmail", "ses:SendRawEmail",
      "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:SendBulkEmail", "ses:SendBounce");
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

  /**
   * @param conditions the Condition's tests, one per operator and key
   * @param unevaluable whether the Condition has a test Mailgate cannot evaluate (a policy stored before such tests
   *     were refused): the statement then holds only as far as "unknown"
   */
  private record Statement(boolean allow, List<String> principals, List<String> actions, List<Test> conditions,
      boolean unevaluable) {}

  private enum Truth { TRUE, FALSE, UNKNOWN }

  private static final List<String> STRING_OPERATORS = List.of("StringEquals", "StringNotEquals",
      "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike");
  private static final List<String> DATE_OPERATORS = List.of("DateGreaterThan", "DateGreaterThanEquals",
      "DateLessThan", "DateLessThanEquals");
  private static final String IF_EXISTS = "IfExists";

  /** The condition keys Mailgate evaluates (IAM compares their names without regard to case). */
  private enum Key {
    FROM_ADDRESS("ses:FromAddress"), FROM_DISPLAY_NAME("ses:FromDisplayName"),
    FEEDBACK_ADDRESS("ses:FeedbackAddress"), RECIPIENTS("ses:Recipients"), CURRENT_TIME("aws:CurrentTime");

    final String iamName;

    Key(String iamName) {
      this.iamName = iamName;
    }

    static Key of(String name) {
      for (Key k : values()) {
        if (k.iamName.equalsIgnoreCase(name)) {
          return k;
        }
      }
      return null;
    }

    /** The key's values in the request; none when the request has no such key (a From without a display name). */
    List<String> in(Request r) {
      String one = switch (this) {
        case FROM_ADDRESS -> r.fromAddress();
        case FROM_DISPLAY_NAME -> r.fromDisplayName();
        case FEEDBACK_ADDRESS -> r.feedbackAddress();
        case CURRENT_TIME -> r.now().toString();
        case RECIPIENTS -> null;
      };
      return this == RECIPIENTS ? r.recipients() : one == null ? List.of() : List.of(one);
    }
  }

  /**
   * One key's test in a statement's Condition, as read when the policy is: {@code operator} without its set prefix
   * ({@code quantifier}: ForAllValues:, ForAnyValue: or null) and its IfExists, the key, and the values ({@code dates}
   * read, for a Date operator).
   */
  private record Test(String operator, String quantifier, boolean ifExists, Key key, List<String> values,
      List<Instant> dates) {}

  private final List<Statement> statements;

  private IdentityPolicy(List<Statement> statements) {
    this.statements = statements;
  }

  /**
   * Reads and checks a policy for the identity {@code resourceArn}; InvalidPolicy (BadRequest in v2) with what is
   * wrong when it is not one SES would take.
   */
  public static IdentityPolicy parse(String json, String resourceArn) {
    return parse(json, resourceArn, false);
  }

  /**
   * A policy as stored, for a send: read as {@link #parse} reads it, but a condition Mailgate cannot evaluate (in a
   * policy stored before such conditions were refused) fails closed instead of failing the whole policy, as it did.
   */
  public static IdentityPolicy parseStored(String json, String resourceArn) {
    return parse(json, resourceArn, true);
  }

  private static IdentityPolicy parse(String json, String resourceArn, boolean stored) {
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
      statements.add(statement(s instanceof Map<?, ?> m ? new JsonObject(cast(m)) : s, resourceArn, stored));
    }
    return new IdentityPolicy(List.copyOf(statements));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }

  private static Statement statement(Object given, String resourceArn, boolean stored) {
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
    List<Test> tests = new ArrayList<>();
    boolean unevaluable = false;
    if (c != null) {
      for (String operator : c.fieldNames()) {
        if (!(c.getValue(operator) instanceof JsonObject keys) || keys.isEmpty()) {
          throw invalid("Condition " + operator + " must map condition keys to values.");
        }
        for (String key : keys.fieldNames()) {
          List<String> values = values(keys.getValue(key), "Condition " + operator + " " + key);
          try {
            tests.add(test(operator, key, values));
          } catch (SesException e) {
            if (!stored) {
              throw e;
            }
            unevaluable = true;
          }
        }
      }
    }
    return new Statement("Allow".equals(effect), principals, List.copyOf(actions), List.copyOf(tests), unevaluable);
  }

  /**
   * A condition's test as Mailgate evaluates it; InvalidPolicy naming the key, operator or value it cannot evaluate
   * (IAM would take it, but a test that could never be decided would only ever fail closed, unseen by the owner).
   */
  private static Test test(String operator, String keyName, List<String> values) {
    String quantifier = null;
    String op = operator;
    for (String prefix : List.of("ForAllValues:", "ForAnyValue:")) {
      if (op.startsWith(prefix)) {
        quantifier = prefix;
        op = op.substring(prefix.length());
        break;
      }
    }
    boolean ifExists = op.endsWith(IF_EXISTS);
    if (ifExists) {
      op = op.substring(0, op.length() - IF_EXISTS.length());
    }
    Key key = Key.of(keyName);
    if (key == null) {
      throw invalid("Condition key " + keyName + " is not supported (Mailgate evaluates "
          + String.join(", ", java.util.Arrays.stream(Key.values()).map(k -> k.iamName).toList()) + ").");
    }
    boolean date = DATE_OPERATORS.contains(op);
    boolean string = STRING_OPERATORS.contains(op);
    boolean isNull = op.equals("Null");
    if ((!date && !string && !isNull) || ((date || isNull) && quantifier != null) || (isNull && ifExists)) {
      throw invalid("Condition operator " + operator + " is not supported (Mailgate evaluates "
          + String.join(", ", STRING_OPERATORS) + ", with ForAllValues: or ForAnyValue:, "
          + String.join(", ", DATE_OPERATORS) + ", each also ...IfExists, and Null).");
    }
    if (date != (key == Key.CURRENT_TIME) && !isNull) {
      throw invalid("Condition operator " + operator + " does not apply to " + key.iamName
          + (date ? ": Date operators take aws:CurrentTime." : ": use a Date operator."));
    }
    List<Instant> dates = new ArrayList<>();
    for (String v : values) {
      if (date) {
        dates.add(instant(v, operator));
      } else if (isNull && !v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
        throw invalid("Condition Null " + keyName + " must be true or false, not " + v + ".");
      }
    }
    return new Test(op, quantifier, ifExists, key, List.copyOf(values), List.copyOf(dates));
  }

  /**
   * A date value as IAM reads one: epoch seconds, a day ({@code 2027-01-01}, its start in UTC) or a time with its
   * offset ({@code 2027-01-01T00:00:00Z}, seconds and their fraction optional).
   */
  private static Instant instant(String v, String operator) {
    try {
      if (!v.isEmpty() && v.chars().allMatch(Character::isDigit)) {
        return Instant.ofEpochSecond(Long.parseLong(v));
      }
      return v.length() == 10 ? LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant()
          : OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeException | NumberFormatException e) { // unreadable, or beyond what an Instant holds
      throw invalid("Condition " + operator + " aws:CurrentTime " + v + " is not a date Mailgate reads (ISO 8601: "
          + "2027-01-01 or 2027-01-01T00:00:00Z, or epoch seconds).");
    }
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
      // Mailgate's callers are accounts, with no IAM users or roles: a Deny of one of an account's users stands for
      // the account (an Allow of one grants nothing, as the account itself was not named)
      if (!s.allow() && p.startsWith("arn:aws:iam::" + account + ":")) {
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
    for (Test t : s.conditions()) {
      if (!holds(t, r, s.allow())) {
        return Truth.FALSE;
      }
    }
    return s.unevaluable() ? Truth.UNKNOWN : Truth.TRUE;
  }

  /**
   * @param inAllow whether the statement allows: without a prefix, a multi-valued key (ses:Recipients) needs every
   *     value to satisfy an Allow's condition, and any one to satisfy a Deny's (each fails closed)
   */
  private static boolean holds(Test t, Request r, boolean inAllow) {
    List<String> context = t.key().in(r);
    if (t.operator().equals("Null")) { // "true": the key is absent; "false": it is there
      return t.values().stream().anyMatch(v -> Boolean.parseBoolean(v) == context.isEmpty());
    }
    if (context.isEmpty() && t.ifExists()) {
      return true;
    }
    if (t.key() == Key.CURRENT_TIME) {
      return date(t.operator(), t.dates(), r.now());
    }
    boolean any = "ForAnyValue:".equals(t.quantifier()) || (!inAllow && t.quantifier() == null);
    String op = t.operator();
    boolean negated = op.startsWith("StringNot");
    boolean ignoreCase = t.key() != Key.FROM_DISPLAY_NAME || op.endsWith("IgnoreCase");
    boolean glob = op.equals("StringLike") || op.equals("StringNotLike");
    if (context.isEmpty()) {
      return negated; // an absent key matches no value
    }
    for (String c : context) {
      boolean hit = false;
      for (String v : t.values()) {
        String x = ignoreCase ? c.toLowerCase(Locale.ROOT) : c;
        String y = ignoreCase ? v.toLowerCase(Locale.ROOT) : v;
        if (glob ? like(x, y) : x.equals(y)) {
          hit = true;
          break;
        }
      }
      boolean satisfied = negated != hit;
      if (any && satisfied) {
        return true;
      }
      if (!any && !satisfied) {
        return false;
      }
    }
    return !any;
  }

  private static boolean date(String operator, List<Instant> values, Instant now) {
    for (Instant t : values) {
      boolean hit = switch (operator) {
        case "DateGreaterThan" -> now.isAfter(t);
        case "DateGreaterThanEquals" -> !now.isBefore(t);
        case "DateLessThan" -> now.isBefore(t);
        default -> !now.isAfter(t);
      };
      if (hit) {
        return true;
      }
    }
    return false;
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
