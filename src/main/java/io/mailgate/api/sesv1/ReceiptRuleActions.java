package io.mailgate.api.sesv1;

import io.mailgate.NetAddresses;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.s3.BucketNames;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.identity.IdentityNames;
import io.mailgate.identity.IdentityService;
import io.mailgate.receiving.ReceiptAction;
import io.mailgate.receiving.ReceiptRule;
import io.mailgate.receiving.ReceiptRuleStore;
import io.mailgate.send.Caller;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MailboxParser;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * SES v1's email receiving actions: receipt rule sets (CreateReceiptRuleSet, DeleteReceiptRuleSet,
 * ListReceiptRuleSets, DescribeReceiptRuleSet, CloneReceiptRuleSet, SetActiveReceiptRuleSet,
 * DescribeActiveReceiptRuleSet, ReorderReceiptRuleSet), their rules (CreateReceiptRule, UpdateReceiptRule,
 * DeleteReceiptRule, DescribeReceiptRule, SetReceiptRulePosition) and IP address filters (CreateReceiptFilter,
 * DeleteReceiptFilter, ListReceiptFilters), with SES's parameters, answers and error codes.
 *
 * <p>A rule is checked whole before anything is stored. Mailgate runs S3 actions (the message is stored in Mailgate
 * and read back through its S3 API), SNS actions (posted to a webhook: every TopicArn is the webhook's URL), Bounce,
 * Stop and AddHeader actions; Lambda, WorkMail and Connect actions are refused, and so is an S3 action's KMS key.
 */
final class ReceiptRuleActions {
  /** ListReceiptRuleSets answers this many sets a page, as SES does. */
  static final int PAGE = 100;
  static final int MAX_NAME = 64;
  /** Mailgate's limits of recipient conditions and of actions a rule. */
  static final int MAX_RECIPIENTS = 100;
  static final int MAX_ACTIONS = 10;
  /** S3's 1,024 bytes of an object key, less the message id each message's key ends with. */
  static final int MAX_OBJECT_KEY_PREFIX = 1024 - io.mailgate.receiving.MailReceiver.MESSAGE_ID_LENGTH;
  static final int MAX_ROLE_ARN = 2048;
  static final int MAX_BOUNCE_MESSAGE = 1000;
  static final int MAX_HEADER_NAME = 50;
  /** SES: a header value of less than 2048 characters. */
  static final int MAX_HEADER_VALUE = 2047;

  private static final List<String> ACTION_TYPES = List.of("S3Action", "SNSAction", "BounceAction", "StopAction",
      "AddHeaderAction", "LambdaAction", "WorkmailAction", "ConnectAction");
  private static final String WHAT_RUNS = "Mailgate runs S3 actions (the message is stored in Mailgate), SNS actions "
      + "(posted to a webhook: the topic is its URL), Bounce, Stop and AddHeader actions.";

  private final ReceiptRuleStore store;
  private final IdentityService identities;
  private final EventDestinationsHandler webhooks;

  ReceiptRuleActions(ReceiptRuleStore store, IdentityService identities, EventDestinationsHandler webhooks) {
    this.store = store;
    this.identities = identities;
    this.webhooks = webhooks;
  }

  // ---- rule sets

  Future<QueryXml> createRuleSet(Caller caller, QueryParams p) {
    return store.createSet(caller.account().id(), name(p, "RuleSetName")).map(v -> new QueryXml());
  }

  /** The active set is not deleted (CannotDelete); a set that does not exist is deleted without an error, as in SES. */
  Future<QueryXml> deleteRuleSet(Caller caller, QueryParams p) {
    return store.deleteSet(caller.account().id(), name(p, "RuleSetName")).map(v -> new QueryXml());
  }

  /** The sets by name, {@link #PAGE} at a time ({@code NextToken}). */
  Future<QueryXml> listRuleSets(Caller caller, QueryParams p) {
    String token = p.string("NextToken");
    return store.pageSets(caller.account().id(), token == null || token.isEmpty() ? null : QueryApi.fromToken(token),
        PAGE + 1).map(rows -> {
          QueryXml xml = new QueryXml().start("RuleSets");
          for (ReceiptRuleStore.RuleSet s : rows.subList(0, Math.min(rows.size(), PAGE))) {
            metadata(xml.start("member"), s).end("member");
          }
          xml.end("RuleSets");
          return rows.size() > PAGE ? xml.text("NextToken", QueryApi.toToken(rows.get(PAGE - 1).name())) : xml;
        });
  }

  Future<QueryXml> describeRuleSet(Caller caller, QueryParams p) {
    return store.describeSet(caller.account().id(), name(p, "RuleSetName")).map(ReceiptRuleActions::ruleSet);
  }

  /** The active set, or an empty result when none is active (as SES answers). */
  Future<QueryXml> describeActiveRuleSet(Caller caller, QueryParams p) {
    return store.describeActive(caller.account().id())
        .map(found -> found.map(ReceiptRuleActions::ruleSet).orElseGet(QueryXml::new));
  }

  Future<QueryXml> cloneRuleSet(Caller caller, QueryParams p) {
    String name = name(p, "RuleSetName");
    return store.cloneSet(caller.account().id(), name, name(p, "OriginalRuleSetName")).map(v -> new QueryXml());
  }

  /** Makes the set the account's active one; without {@code RuleSetName}, no set is active (receiving stops). */
  Future<QueryXml> setActiveRuleSet(Caller caller, QueryParams p) {
    return store.setActive(caller.account().id(), optionalName(p, "RuleSetName")).map(v -> new QueryXml());
  }

  /** {@code RuleNames} must name each of the set's rules once. */
  Future<QueryXml> reorderRuleSet(Caller caller, QueryParams p) {
    String set = name(p, "RuleSetName");
    List<String> names = p.strings("RuleNames");
    if (names == null) {
      throw SesException.badRequest("Missing required parameter RuleNames.");
    }
    for (int i = 0; i < names.size(); i++) {
      checkName(names.get(i), "RuleNames.member." + (i + 1));
    }
    return store.reorder(caller.account().id(), set, names).map(v -> new QueryXml());
  }

  // ---- rules

  /** The rule goes right after the rule named {@code After}, or first without it (as SES places it). */
  Future<QueryXml> createRule(Caller caller, QueryParams p) {
    String set = name(p, "RuleSetName");
    String after = optionalName(p, "After");
    ReceiptRule rule = rule(p.struct("Rule"));
    String account = caller.account().id();
    return checkBounceSenders(account, rule).compose(v -> store.createRule(account, set, rule, after))
        .map(v -> new QueryXml());
  }

  /** The rule's whole definition is replaced (what is left out takes its default); it keeps its place. */
  Future<QueryXml> updateRule(Caller caller, QueryParams p) {
    String set = name(p, "RuleSetName");
    ReceiptRule rule = rule(p.struct("Rule"));
    String account = caller.account().id();
    return checkBounceSenders(account, rule).compose(v -> store.updateRule(account, set, rule))
        .map(v -> new QueryXml());
  }

  /** A rule the set does not have is deleted without an error, as in SES; a set that does not exist is an error. */
  Future<QueryXml> deleteRule(Caller caller, QueryParams p) {
    String set = name(p, "RuleSetName");
    return store.deleteRule(caller.account().id(), set, name(p, "RuleName")).map(v -> new QueryXml());
  }

  Future<QueryXml> describeRule(Caller caller, QueryParams p) {
    String set = name(p, "RuleSetName");
    return store.describeRule(caller.account().id(), set, name(p, "RuleName"))
        .map(r -> rule(new QueryXml().start("Rule"), r).end("Rule"));
  }

  /** The rule moves right after the rule named {@code After}, or first without it. */
  Future<QueryXml> setRulePosition(Caller caller, QueryParams p) {
    String set = name(p, "RuleSetName");
    String rule = name(p, "RuleName");
    String after = optionalName(p, "After");
    return store.setRulePosition(caller.account().id(), set, rule, after).map(v -> new QueryXml());
  }

  // ---- IP address filters

  Future<QueryXml> createFilter(Caller caller, QueryParams p) {
    QueryParams f = p.struct("Filter");
    String name = name(f, "Name");
    QueryParams ip = f.struct("IpFilter");
    String given = ip.required("Policy");
    String policy = given.equalsIgnoreCase(ReceiptRuleStore.Filter.BLOCK) ? ReceiptRuleStore.Filter.BLOCK
        : given.equalsIgnoreCase(ReceiptRuleStore.Filter.ALLOW) ? ReceiptRuleStore.Filter.ALLOW : null;
    if (policy == null) {
      throw SesException.badRequest(ip.path("Policy") + " must be Block or Allow, not '" + QueryParams.quote(given)
          + "'.");
    }
    String givenCidr = ip.required("Cidr");
    String cidr = cidr(givenCidr, ip.path("Cidr"));
    return store.createFilter(caller.account().id(), new ReceiptRuleStore.Filter(name, policy, cidr), givenCidr)
        .map(v -> new QueryXml());
  }

  /** A filter that does not exist is deleted without an error, as in SES. */
  Future<QueryXml> deleteFilter(Caller caller, QueryParams p) {
    return store.deleteFilter(caller.account().id(), name(p, "FilterName")).map(v -> new QueryXml());
  }

  Future<QueryXml> listFilters(Caller caller, QueryParams p) {
    return store.filters(caller.account().id()).map(filters -> {
      QueryXml xml = new QueryXml().start("Filters");
      for (ReceiptRuleStore.Filter f : filters) {
        xml.start("member").text("Name", f.name()).start("IpFilter").text("Policy", f.policy())
            .text("Cidr", f.cidr()).end("IpFilter").end("member");
      }
      return xml.end("Filters");
    });
  }

  // ---- answers

  private static QueryXml ruleSet(ReceiptRuleStore.RuleSetRules set) {
    QueryXml xml = metadata(new QueryXml().start("Metadata"), set.metadata()).end("Metadata").start("Rules");
    for (ReceiptRule r : set.rules()) {
      rule(xml.start("member"), r).end("member");
    }
    return xml.end("Rules");
  }

  private static QueryXml metadata(QueryXml xml, ReceiptRuleStore.RuleSet s) {
    return xml.text("Name", s.name()).text("CreatedTimestamp", s.createdAt().toString());
  }

  /** A rule's fields; each action as stored, whose names are SES's ({@code <S3Action><BucketName>...}). */
  private static QueryXml rule(QueryXml xml, ReceiptRule r) {
    xml.text("Name", r.name()).text("Enabled", Boolean.toString(r.enabled())).text("TlsPolicy", r.tlsPolicy())
        .text("ScanEnabled", Boolean.toString(r.scanEnabled()));
    if (!r.recipients().isEmpty()) {
      xml.list("Recipients", r.recipients());
    }
    if (!r.actions().isEmpty()) {
      xml.start("Actions");
      for (ReceiptAction a : r.actions()) {
        JsonObject json = a.toJson();
        String type = json.fieldNames().iterator().next();
        xml.start("member").start(type);
        json.getJsonObject(type).forEach(field -> xml.text(field.getKey(), String.valueOf(field.getValue())));
        xml.end(type).end("member");
      }
      xml.end("Actions");
    }
    return xml;
  }

  // ---- a rule's definition

  /** {@code Rule.*}, checked whole; SES's defaults: disabled, TLS optional, no scan, every recipient. */
  private ReceiptRule rule(QueryParams r) {
    String name = name(r, "Name");
    boolean enabled = flag(r, "Enabled");
    String tls = r.string("TlsPolicy");
    String tlsPolicy;
    if (tls == null || tls.isEmpty() || tls.equalsIgnoreCase(ReceiptRule.TLS_OPTIONAL)) {
      tlsPolicy = ReceiptRule.TLS_OPTIONAL;
    } else if (tls.equalsIgnoreCase(ReceiptRule.TLS_REQUIRE)) {
      tlsPolicy = ReceiptRule.TLS_REQUIRE;
    } else {
      throw SesException.badRequest(r.path("TlsPolicy") + " must be Optional or Require, not '"
          + QueryParams.quote(tls) + "'.");
    }
    List<String> given = r.strings("Recipients");
    List<String> recipients = new ArrayList<>();
    if (given != null) {
      if (given.size() > MAX_RECIPIENTS) {
        throw SesException.badRequest(r.path("Recipients") + " may name at most " + MAX_RECIPIENTS
            + " addresses and domains.");
      }
      for (int i = 0; i < given.size(); i++) {
        recipients.add(recipient(given.get(i), r.path("Recipients.member." + (i + 1))));
      }
    }
    List<QueryParams> entries = r.structs("Actions");
    if (entries.size() > MAX_ACTIONS) {
      throw SesException.badRequest(r.path("Actions") + " may hold at most " + MAX_ACTIONS + " actions.");
    }
    List<ReceiptAction> actions = new ArrayList<>(entries.size());
    for (QueryParams a : entries) {
      actions.add(action(a));
    }
    return new ReceiptRule(name, enabled, tlsPolicy, recipients, actions, flag(r, "ScanEnabled"));
  }

  private static boolean flag(QueryParams p, String name) {
    String v = p.string(name);
    return v != null && !v.isEmpty() && QueryApi.bool(p, name);
  }

  /**
   * A recipient condition, lower-cased: an address, a domain, or {@code .domain} (its subdomains). A Unicode domain
   * is kept as punycode, the form the SMTP side compares.
   */
  static String recipient(String given, String field) {
    for (int i = 0; i < given.length(); i++) {
      char c = given.charAt(i);
      if (c <= ' ' || c == 0x7f) {
        throw SesException.badRequest(field + " may not contain spaces or control characters (CR, LF or other).");
      }
    }
    boolean subdomains = given.startsWith(".");
    String condition = subdomains ? given.substring(1) : given;
    if (!subdomains || !IdentityNames.isAddress(condition)) {
      try {
        String normal = IdentityNames.normalize(condition);
        return subdomains ? "." + normal : normal;
      } catch (SesException e) {
        // refused below: the parser's message would name the address it makes of a domain to check it
      }
    }
    throw SesException.badRequest(field + " '" + QueryParams.quote(given) + "' is not an email address, a domain, "
        + "or a domain's subdomains (.example.com).");
  }

  /** One entry of {@code Actions}: exactly one action structure. */
  private ReceiptAction action(QueryParams a) {
    String entry = a.path("").substring(0, a.path("").length() - 1);
    List<String> types = ACTION_TYPES.stream().filter(a::has).toList();
    if (types.size() != 1) {
      throw SesException.badRequest(entry + " must hold exactly one action (S3Action, SNSAction, BounceAction, "
          + "StopAction or AddHeaderAction), not " + (types.isEmpty() ? "none" : String.join(" and ", types)) + ".");
    }
    String type = types.get(0);
    QueryParams p = a.struct(type);
    return switch (type) {
      case "S3Action" -> s3(p);
      case "SNSAction" -> sns(p);
      case "BounceAction" -> bounce(p);
      case "StopAction" -> {
        String scope = p.required("Scope");
        if (!scope.equalsIgnoreCase("RuleSet")) {
          throw SesException.badRequest(p.path("Scope") + " must be RuleSet, not '" + QueryParams.quote(scope) + "'.");
        }
        yield new ReceiptAction.Stop("RuleSet", topic(p));
      }
      case "AddHeaderAction" -> addHeader(p);
      case "LambdaAction" -> throw new SesException(SesError.INVALID_LAMBDA_FUNCTION, entry + ": Mailgate cannot "
          + "invoke AWS Lambda functions. " + WHAT_RUNS);
      default -> throw SesException.badRequest(entry + ": Mailgate cannot deliver to Amazon "
          + (type.equals("WorkmailAction") ? "WorkMail" : "Connect") + ". " + WHAT_RUNS);
    };
  }

  /** The message is stored under the bucket and key; a bucket needs no creating, and has no KMS key. */
  private ReceiptAction.S3 s3(QueryParams p) {
    String bucket = p.required("BucketName");
    if (!isBucketName(bucket)) {
      throw new SesException(SesError.INVALID_S3_CONFIGURATION, p.path("BucketName") + " '" + QueryParams.quote(bucket)
          + "' is not a valid bucket name: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with "
          + "a letter or digit, without '..', not like an IP address.");
    }
    String kms = p.string("KmsKeyArn");
    if (kms != null && !kms.isEmpty()) {
      throw new SesException(SesError.INVALID_S3_CONFIGURATION, p.path("KmsKeyArn") + ": Mailgate stores received "
          + "mail in its database; KMS encryption is not supported.");
    }
    String prefix = optional(p, "ObjectKeyPrefix", MAX_OBJECT_KEY_PREFIX, SesError.INVALID_S3_CONFIGURATION);
    if (prefix != null && prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_OBJECT_KEY_PREFIX) {
      // S3 counts a key's UTF-8 bytes: 600 é's are 1,200 of them, and no key that long could be read back
      throw new SesException(SesError.INVALID_S3_CONFIGURATION, p.path("ObjectKeyPrefix") + " must be at most "
          + MAX_OBJECT_KEY_PREFIX + " bytes of UTF-8: with the message id after it, a key is at most S3's 1,024.");
    }
    String role = optional(p, "IamRoleArn", MAX_ROLE_ARN, SesError.INVALID_S3_CONFIGURATION);
    return new ReceiptAction.S3(bucket, prefix, topic(p), role);
  }

  private ReceiptAction.Sns sns(QueryParams p) {
    String topic = webhook(p, p.required("TopicArn"));
    String encoding = p.string("Encoding");
    if (encoding == null || encoding.isEmpty() || encoding.equalsIgnoreCase(ReceiptAction.Sns.UTF8)) {
      return new ReceiptAction.Sns(topic, ReceiptAction.Sns.UTF8);
    }
    if (encoding.equalsIgnoreCase(ReceiptAction.Sns.BASE64)) {
      return new ReceiptAction.Sns(topic, ReceiptAction.Sns.BASE64);
    }
    throw SesException.badRequest(p.path("Encoding") + " must be UTF-8 or Base64, not '" + QueryParams.quote(encoding)
        + "'.");
  }

  /**
   * The reply is sent in the SMTP conversation: a permanent reply code (5xy, RFC 5321), an enhanced status code of
   * the same class (5.x.y, RFC 3463) and a text in printable ASCII without line breaks (up to 1,000 characters: one
   * longer than a reply line may be, 512 octets, is sent on several lines, cut at spaces).
   */
  private ReceiptAction.Bounce bounce(QueryParams p) {
    String code = p.required("SmtpReplyCode");
    if (!code.matches("5[0-9][0-9]")) {
      throw SesException.badRequest(p.path("SmtpReplyCode") + " must be a permanent SMTP reply code (RFC 5321): "
          + "three digits starting with 5, such as 550; not '" + QueryParams.quote(code) + "'.");
    }
    String status = p.string("StatusCode");
    if (status != null && status.isEmpty()) {
      status = null;
    }
    if (status != null && !status.matches("5\\.[0-9]{1,3}\\.[0-9]{1,3}")) {
      throw SesException.badRequest(p.path("StatusCode") + " must be an enhanced status code (RFC 3463) of a "
          + "permanent failure, such as 5.1.1; not '" + QueryParams.quote(status) + "'.");
    }
    String message = p.required("Message");
    if (message.length() > MAX_BOUNCE_MESSAGE) {
      throw SesException.badRequest(p.path("Message") + " is longer than " + MAX_BOUNCE_MESSAGE + " characters.");
    }
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if ((c < 0x20 && c != '\t') || c > 0x7e) {
        throw SesException.badRequest(p.path("Message") + " is sent as an SMTP reply: printable ASCII on one line, "
            + "without CR, LF or other control characters.");
      }
    }
    String given = p.required("Sender");
    Mailbox sender;
    try {
      sender = MailboxParser.parseAddrSpec(given);
    } catch (SesException e) {
      throw SesException.badRequest(p.path("Sender") + " '" + QueryParams.quote(given) + "' is not an email address.");
    }
    return new ReceiptAction.Bounce(code, status, message, sender.address(), topic(p));
  }

  private static ReceiptAction.AddHeader addHeader(QueryParams p) {
    String name = p.required("HeaderName");
    boolean ok = name.length() <= MAX_HEADER_NAME;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      ok &= isLetterOrDigit(c) || c == '-';
    }
    if (!ok) {
      throw SesException.badRequest(p.path("HeaderName") + " '" + QueryParams.quote(name) + "' must be 1 to "
          + MAX_HEADER_NAME + " ASCII letters, digits and dashes.");
    }
    String value = p.required("HeaderValue");
    if (value.length() > MAX_HEADER_VALUE) {
      throw SesException.badRequest(p.path("HeaderValue") + " must be shorter than " + (MAX_HEADER_VALUE + 1)
          + " characters.");
    }
    if (hasControl(value, true)) {
      throw SesException.badRequest(p.path("HeaderValue") + " may not contain CR, LF or other control characters.");
    }
    return new ReceiptAction.AddHeader(name, value);
  }

  /** An action's optional TopicArn: the webhook its notification is posted to, or null. */
  private String topic(QueryParams p) {
    String given = p.string("TopicArn");
    return given == null || given.isEmpty() ? null : webhook(p, given);
  }

  /** A TopicArn as a webhook URL, checked as event destinations' are; refused as InvalidSnsTopic. */
  private String webhook(QueryParams p, String given) {
    try {
      return webhooks.webhookUrl(given, p.path("TopicArn"));
    } catch (SesException e) {
      throw new SesException(SesError.INVALID_SNS_TOPIC, e.getMessage());
    }
  }

  /** An optional text field: null when absent or empty; at most {@code max} characters and no control characters. */
  private static String optional(QueryParams p, String name, int max, SesError error) {
    String v = p.string(name);
    if (v == null || v.isEmpty()) {
      return null;
    }
    if (v.length() > max || hasControl(v, false)) {
      throw new SesException(error, p.path(name) + " must be at most " + max
          + " characters, without control characters.");
    }
    return v;
  }

  private static boolean hasControl(String s, boolean tabAllowed) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ((c < 0x20 && !(tabAllowed && c == '\t')) || c == 0x7f) {
        return true;
      }
    }
    return false;
  }

  /** S3's rules for a bucket name ({@link BucketNames}). */
  static boolean isBucketName(String b) {
    return BucketNames.valid(b);
  }

  /**
   * Each Bounce action's Sender must be a verified identity of the account (the address, or its domain), as SES
   * requires: the bounce is sent from it.
   */
  private Future<Void> checkBounceSenders(String account, ReceiptRule rule) {
    Future<Void> checked = Future.succeededFuture();
    for (ReceiptAction a : rule.actions()) {
      if (a instanceof ReceiptAction.Bounce b) {
        checked = checked.compose(v -> identities.isVerifiedSender(account, b.sender()))
            .compose(ok -> ok ? Future.<Void>succeededFuture()
                : Future.failedFuture(SesException.badRequest("BounceAction.Sender " + b.sender() + " is not a "
                    + "verified identity of this account: verify the address or its domain first.")));
      }
    }
    return checked;
  }

  // ---- names and networks

  private static String name(QueryParams p, String parameter) {
    return checkName(p.required(parameter), p.path(parameter));
  }

  /** A name that may be left out: null when absent or empty. */
  private static String optionalName(QueryParams p, String parameter) {
    String given = p.string(parameter);
    return given == null || given.isEmpty() ? null : checkName(given, p.path(parameter));
  }

  /**
   * A rule set's, rule's or filter's name as SES allows them: ASCII letters, digits, '_', '-' and '.', starting and
   * ending with a letter or digit, at most 64 characters.
   */
  static String checkName(String name, String field) {
    boolean ok = !name.isEmpty() && name.length() <= MAX_NAME && isLetterOrDigit(name.charAt(0))
        && isLetterOrDigit(name.charAt(name.length() - 1));
    for (int i = 0; i < name.length() && ok; i++) {
      char c = name.charAt(i);
      ok = isLetterOrDigit(c) || c == '_' || c == '-' || c == '.';
    }
    if (!ok) {
      throw SesException.badRequest(field + " '" + QueryParams.quote(name) + "' is not a valid name: ASCII letters, "
          + "digits, '_', '-' and '.', starting and ending with a letter or digit, at most " + MAX_NAME
          + " characters.");
    }
    return name;
  }

  private static boolean isLetterOrDigit(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  /**
   * An IPv4 or IPv6 address, or a network in CIDR notation, as the literal it is (nothing is looked up); in the
   * canonical text PostgreSQL reads. An IPv4 address mapped into IPv6 ({@code ::ffff:10.0.0.0/104}) is its IPv4
   * network.
   */
  static String cidr(String given, String field) {
    int slash = given.indexOf('/');
    NetAddresses.Cidr range = given.indexOf('%') >= 0 || slash >= 0 && !given.substring(slash + 1).matches("[0-9]{1,3}")
        ? null : NetAddresses.Cidr.parse(given);
    if (range == null) {
      throw SesException.badRequest(field + " '" + QueryParams.quote(given) + "' is not an IP address or a CIDR range "
          + "such as 192.0.2.0/24 or 2001:db8::/32.");
    }
    try {
      return InetAddress.getByAddress(range.network()).getHostAddress() + "/" + range.prefix();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // not reached: 4 or 16 bytes
    }
  }

}
