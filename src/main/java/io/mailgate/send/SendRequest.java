package io.mailgate.send;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.identity.IdentityPolicies;
import java.util.List;

/**
 * A send as the caller asked for it, independent of the API it came through (SES v2, v1 or SMTP).
 * Addresses are still strings here: {@link SendService} parses and checks them.
 *
 * @param envelopeSender the message's Return-Path, or null: the SMTP {@code MAIL FROM} it was submitted
 *     with, SES v1's {@code ReturnPath}, SES v2's {@code FeedbackForwardingEmailAddress}. Like every
 *     sender address of a message it must be a verified identity; it is where its bounces and
 *     complaints are forwarded by email, and its envelope sender when there is no VERP domain, but it
 *     does not choose the DKIM key (the From address does)
 * @param listManagement SES's ListManagementOptions, or null: the message gets the list's one-click unsubscribe
 *     link, and recipients who unsubscribed are not mailed
 * @param identityArns the identity ARNs the send names for its addresses (sending authorization), or null
 * @param tenant the tenant it is sent for (SES v2's TenantName, the {@code X-SES-TENANT} header), or null: its From
 *     identity, its configuration set and its template must be associated with the tenant, which must be sending
 * @param nullReversePath a delivery status notification (SES v1 SendBounce's bounce): delivered with {@code MAIL
 *     FROM:<>}, as RFC 5321 4.5.5 and RFC 3464 require of one, so that nothing ever answers it; its feedback is
 *     forwarded to its From address. No {@code envelopeSender} may be given with it
 * @param maxMessageBytes the most bytes its message may have where its API allows less than the node's {@code
 *     send.maxMessageBytes} (SES v1's 10 MB), or 0 for the node's: held to it as built, rendered, and with its links
 *     tracked and unsubscribe link added ({@link SendService})
 * @param operation the SES operation it was sent with, its events' {@code ses:operation} tag: {@code SendEmail},
 *     {@code SendRawEmail} or {@code SendTemplatedEmail} by its content as given (a template's stays
 *     SendTemplatedEmail once rendered), {@code SendBulkTemplatedEmail} for a bulk send's entries (SES v1's and v2's
 *     SendBulkEmail), {@code SendSmtpEmail} for SMTP submission, {@code SendBounce} for SES v1's bounces
 */
public record SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
    List<EmailTag> tags, Content content, String envelopeSender, ListManagement listManagement,
    IdentityArns identityArns, String tenant, boolean nullReversePath, int maxMessageBytes, String operation) {

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content, String envelopeSender, ListManagement listManagement,
      IdentityArns identityArns, String tenant, boolean nullReversePath, int maxMessageBytes) {
    this(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement, identityArns,
        tenant, nullReversePath, maxMessageBytes, operationOf(content));
  }

  private static String operationOf(Content content) {
    return content instanceof TemplateContent ? "SendTemplatedEmail"
        : content instanceof RawContent ? "SendRawEmail" : "SendEmail";
  }

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content, String envelopeSender, ListManagement listManagement,
      IdentityArns identityArns, String tenant, boolean nullReversePath) {
    this(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement, identityArns,
        tenant, nullReversePath, 0);
  }

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content, String envelopeSender, ListManagement listManagement,
      IdentityArns identityArns, String tenant) {
    this(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement, identityArns,
        tenant, false);
  }

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content, String envelopeSender, ListManagement listManagement,
      IdentityArns identityArns) {
    this(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement, identityArns,
        null);
  }

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content, String envelopeSender, ListManagement listManagement) {
    this(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement, null);
  }

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content, String envelopeSender) {
    this(from, destination, replyTo, configurationSet, tags, content, envelopeSender, null);
  }

  public SendRequest(String from, Destination destination, List<String> replyTo, String configurationSet,
      List<EmailTag> tags, Content content) {
    this(from, destination, replyTo, configurationSet, tags, content, null);
  }

  /** The same send with other content (a template's, once rendered). */
  public SendRequest withContent(Content c) {
    return new SendRequest(from, destination, replyTo, configurationSet, tags, c, envelopeSender, listManagement,
        identityArns, tenant, nullReversePath, maxMessageBytes, operation);
  }

  /** The same send for another configuration set (the From identity's default). */
  public SendRequest withConfigurationSet(String set) {
    return new SendRequest(from, destination, replyTo, set, tags, content, envelopeSender, listManagement,
        identityArns, tenant, nullReversePath, maxMessageBytes, operation);
  }

  /** The same send for a tenant (null: none). */
  public SendRequest withTenant(String name) {
    return new SendRequest(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement,
        identityArns, name, nullReversePath, maxMessageBytes, operation);
  }

  /** The same send held to {@code bytes} a message ({@link #maxMessageBytes}; 0: the node's limit). */
  public SendRequest withMaxMessageBytes(int bytes) {
    return new SendRequest(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement,
        identityArns, tenant, nullReversePath, bytes, operation);
  }

  /** The same send as made with another SES operation ({@link #operation}). */
  public SendRequest withOperation(String name) {
    return new SendRequest(from, destination, replyTo, configurationSet, tags, content, envelopeSender, listManagement,
        identityArns, tenant, nullReversePath, maxMessageBytes, name);
  }

  /**
   * SES's sending authorization parameters: the ARNs of the identities (another account's, or the caller's own) the
   * send's addresses belong to, as given, and the action the send is checked as. Each may be null.
   *
   * @param action the policy action: {@code ses:SendEmail}, {@code ses:SendRawEmail}, ...
   * @param from for the address the message is sent as (v2 FromEmailAddressIdentityArn, v1 SourceArn,
   *     {@code X-SES-SOURCE-ARN})
   * @param headerFrom for a raw message's From header (v1 FromArn, {@code X-SES-FROM-ARN})
   * @param returnPath for the Return-Path (v2 FeedbackForwardingEmailAddressIdentityArn, v1 ReturnPathArn,
   *     {@code X-SES-RETURN-PATH-ARN})
   * @param policyReads the identities' policies as read for this call: one read for all the entries of a bulk send
   */
  public record IdentityArns(String action, String from, String headerFrom, String returnPath,
      IdentityPolicies.Reads policyReads) {
    /** The ARNs given, or null when none is (most sends): null for a blank one, as SDKs send "" for unset. */
    public static IdentityArns of(String action, String from, String headerFrom, String returnPath) {
      from = blankToNull(from);
      headerFrom = blankToNull(headerFrom);
      returnPath = blankToNull(returnPath);
      return from == null && headerFrom == null && returnPath == null ? null
          : new IdentityArns(action, from, headerFrom, returnPath, new IdentityPolicies.Reads());
    }

    private static String blankToNull(String s) {
      return s == null || s.isBlank() ? null : s;
    }
  }

  /**
   * SES {@code ListManagementOptions}: the contact list the message is sent for, and the topic (null: the list as a
   * whole).
   */
  public record ListManagement(String contactList, String topic) {
    public ListManagement {
      EmailTag.checkName(contactList, "ListManagementOptions.ContactListName", 64);
      if (topic != null) {
        EmailTag.checkName(topic, "ListManagementOptions.TopicName", 64);
      }
    }
  }

  /** Most message tags one message may carry. */
  public static final int MAX_TAGS = 50;

  public SendRequest {
    if (nullReversePath && envelopeSender != null) {
      throw new IllegalArgumentException("a null reverse-path and an envelope sender");
    }
    if (maxMessageBytes < 0) {
      throw new IllegalArgumentException("a negative message limit");
    }
    replyTo = replyTo == null ? List.of() : List.copyOf(replyTo);
    tags = tags == null ? List.of() : List.copyOf(tags);
    if (tags.size() > MAX_TAGS) { // each is stored with the message and copied into every event of each recipient
      throw SesException.badRequest("A message carries at most " + MAX_TAGS + " EmailTags (" + tags.size()
          + " given).");
    }
    if (configurationSet != null && configurationSet.isEmpty()) {
      throw SesException.badRequest("ConfigurationSetName is empty.");
    }
    if (configurationSet != null && !EmailTag.isName(configurationSet, 64)) {
      // no set can be named so (creating one refuses the name): SES answers that it does not exist
      throw new SesException(SesError.CONFIGURATION_SET_NOT_FOUND, "Configuration set <"
          + MailboxParser.abbreviate(configurationSet) + "> does not exist.");
    }
    if (content == null) {
      throw SesException.badRequest("Content is required.");
    }
    if (tenant != null) {
      EmailTag.checkName(tenant, "TenantName", 64);
    }
  }

  /** To, Cc and Bcc as given; absent (null) for a Raw message that names its recipients in headers. */
  public record Destination(List<String> to, List<String> cc, List<String> bcc) {
    public Destination {
      to = to == null ? List.of() : List.copyOf(to);
      cc = cc == null ? List.of() : List.copyOf(cc);
      bcc = bcc == null ? List.of() : List.copyOf(bcc);
    }

    public int size() {
      return to.size() + cc.size() + bcc.size();
    }
  }

  /** A message tag (SES {@code EmailTags}): published with the message's events. */
  public record EmailTag(String name, String value) {
    public EmailTag {
      if (name != null && name.startsWith("ses:")) { // its own answer, before the characters' rule refuses the ':'
        throw SesException.badRequest("EmailTag names starting with 'ses:' are reserved.");
      }
      checkName(name, "EmailTag Name", 256);
      if (value == null) {
        throw SesException.badRequest("EmailTag '" + name + "' has no Value.");
      }
      checkName(value, "EmailTag Value", 256);
    }

    /** SES's rule for tag names, tag values and configuration set names. */
    public static void checkName(String s, String what, int max) {
      if (s == null || s.isEmpty()) {
        throw SesException.badRequest(what + " is empty.");
      }
      if (s.length() > max) {
        throw SesException.badRequest(what + " is longer than " + max + " characters.");
      }
      for (int i = 0; i < s.length(); i++) {
        if (!isNameChar(s.charAt(i))) {
          throw SesException.badRequest(what + " '" + MailboxParser.abbreviate(s)
              + "' may contain only ASCII letters, numbers, underscores and dashes.");
        }
      }
    }

    /** Whether {@link #checkName} would take {@code s}. */
    public static boolean isName(String s, int max) {
      if (s == null || s.isEmpty() || s.length() > max) {
        return false;
      }
      for (int i = 0; i < s.length(); i++) {
        if (!isNameChar(s.charAt(i))) {
          return false;
        }
      }
      return true;
    }

    private static boolean isNameChar(char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }
  }
}
