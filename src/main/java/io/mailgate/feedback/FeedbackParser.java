package io.mailgate.feedback;

import io.mailgate.feedback.BounceTextScanner.Finding;
import io.mailgate.feedback.BounceTextScanner.Sections;
import io.mailgate.feedback.DeliveryStatusReader.DeliveryStatus;
import io.mailgate.feedback.ReportFields.Field;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.james.mime4j.dom.Header;

/**
 * Parses one inbound message (a bounce, a complaint, an auto-reply, or anything else) into a
 * {@link FeedbackReport}. Standard reports are read from their machine-readable parts (RFC 3464,
 * RFC 6533, RFC 5965); other bounces from their text. It never throws: input it cannot make sense
 * of gives {@link FeedbackKind#UNKNOWN} with whatever was found. Thread-safe and stateless; it
 * blocks (parsing), so call it from a worker thread.
 */
public final class FeedbackParser {

  /** Bounce texts larger than this are cut before scanning: the explanation is at the top. */
  private static final int MAX_TEXT = 256 * 1024;
  /** Reads of the report's text a pattern may make: many times what a real report takes, well under a second. */
  private static final long TEXT_BUDGET = 20_000_000;
  private static final Pattern SCRIPT_OR_STYLE = Pattern.compile("(?is)<(script|style)[^>]*>.*?</\\1>");
  private static final Pattern TAG = Pattern.compile("<[^>]++>");

  private static final int MAX_DIAGNOSTIC = 2000;
  /** Addresses read from one header or report field list: far more than a message to report has recipients. */
  private static final int MAX_ADDRESSES = 500;

  private static final Pattern BOUNCE_SENDER =
      Pattern.compile("(?i)mailer[-_]?daemon|postmaster|mail delivery|delivery subsystem|bounce|mail administrator|\\bnobody@|notify|nicht zustellbar");

  private static final Pattern BOUNCE_SUBJECT =
      Pattern.compile(
          "(?i)undeliver|undelivered|delivery (?:status|fail|notification|problem|report)|returned mail|"
              + "failure notice|mail delivery|delivery has failed|could not be delivered|non[- ]?delivery|"
              + "nondeliverable|rejected|mail system error|bounce|not delivered|unzustellbar|"
              + "warning: message|delayed mail|delivery failure|error sending|message not deliverable|"
              + "permanent error|retour|no se pudo|未達|エラー|送信失敗");

  private static final Pattern BOUNCE_TEXT =
      Pattern.compile(
          "(?i)could not be delivered|couldn't be delivered|undeliverable|delivery (?:to the following|has failed|failed)|"
              + "permanent (?:error|failure|fatal)|not (?:be )?delivered|unable to deliver|failed to deliver|"
              + "wasn't able to deliver|returned to (?:the )?sender|user unknown|mailbox (?:is )?(?:full|unavailable)|"
              + "following address(?:es)? failed|delivery (?:is )?delayed|error delivering|did not reach|rejected|"
              + "no such user|invalid (?:user|recipient|address)|requested action not taken|"
              + "(?m:^[ \\t]*[45][0-5]\\d[ -])|\\b[45]\\d\\d[ -]\\d\\.\\d+\\.\\d+");

  private static final Pattern AUTO_REPLY_SUBJECT =
      Pattern.compile(
          "(?i)^(?:auto(?:matic)?[- _]?(?:reply|response|antwort)|out of (?:the )?office|abwesenheit|"
              + "r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|away from|on vacation|vacation|"
              + "i am (?:out|away)|ooo\\b|自動応答|不在)");

  private static final Pattern DELAY_TEXT =
      Pattern.compile(
          "(?i)will (?:continue|keep) (?:to )?(?:try|retry|attempt)|delivery (?:is |has been )?delayed|"
              + "has not yet been delivered|still undelivered|not been delivered (?:yet|for)|"
              + "will be retried|will retry|no action is required on your part|THIS IS A WARNING MESSAGE ONLY");

  private static final Pattern ENVELOPE_FROM =
      Pattern.compile("(?i)envelope-from <?(" + SmtpText.ADDRESS.pattern() + ")");

  private static final Pattern EMBEDDED_DSN =
      Pattern.compile("(?im)^(?:Final|Original)-Recipient:\\s*\\S");

  private static final Pattern EMBEDDED_ARF = Pattern.compile("(?im)^Feedback-Type:\\s*\\S");

  /** Parses a message; never throws. */
  public FeedbackReport parse(byte[] message) {
    if (message == null || message.length == 0) {
      return unknown(null);
    }
    try {
      return parse(MimeParts.parse(message));
    } catch (Exception | StackOverflowError e) {
      // Anything mime4j or a pattern chokes on is still an inbound message we must not lose.
      return unknown(null);
    }
  }

  private FeedbackReport parse(MimeParts mime) {
    Header top = mime.top;
    String reportFrom = SmtpText.address(MimeParts.headerValue(top, "From"));

    List<String> deliveryStatus = new ArrayList<>();
    List<String> forwardedDeliveryStatus = new ArrayList<>();
    String feedbackReport = null;
    Header returned = null;
    StringBuilder plain = new StringBuilder();
    StringBuilder html = new StringBuilder();
    for (MimeParts.Part part : mime.parts) {
      String type = part.mimeType();
      if (part.text() == null) {
        if (returned == null && part.returned() && part.header() != null && !part.header().getFields().isEmpty()
            && (type.startsWith("message/") || type.equals("text/plain"))) {
          returned = part.header();
        }
        continue;
      }
      if (part.returned()) {
        if (type.equals("message/delivery-status") || type.equals("message/global-delivery-status")) {
          forwardedDeliveryStatus.add(part.text());
        }
        continue;
      }
      switch (type) {
        case "message/delivery-status", "message/global-delivery-status" -> deliveryStatus.add(part.text());
        case "message/feedback-report" -> feedbackReport = feedbackReport == null ? part.text() : feedbackReport;
        case "text/rfc822-headers", "text/rfc822-header", "message/global-headers", "message/rfc822-headers" -> {
          if (returned == null) {
            returned = MimeParts.parseHeaderBlock(part.text());
          }
        }
        case "text/html" -> {
          if (html.length() < MAX_TEXT) {
            String text = part.text();
            html.append(htmlToText(text.length() > MAX_TEXT ? text.substring(0, MAX_TEXT) : text)).append('\n');
          }
        }
        default -> {
          // what is past MAX_TEXT is cut below anyway: a thousand large parts are not copied first
          if ((type.startsWith("text/") || type.equals("message/disposition-notification"))
              && plain.length() < MAX_TEXT) {
            String text = part.text();
            plain.append(text, 0, Math.min(text.length(), MAX_TEXT - plain.length())).append('\n');
          }
        }
      }
    }
    String human = unquote(plain.length() > 0 ? plain.toString() : html.toString());
    if (human.length() > MAX_TEXT) {
      human = human.substring(0, MAX_TEXT);
    }
    Sections sections = BounceTextScanner.split(human);
    if (returned == null && sections.returnedHeaders() != null) {
      returned = MimeParts.parseHeaderBlock(sections.returnedHeaders());
    }

    // an SES notification mailed by SNS is the text itself, its JSON from the first character: JSON further on is in
    // a copy of some message (a bounce pasting the original inline, an auto-reply quoting it), not the report. Read
    // whole, not from the explanation: a pretty-printed notification's line can look like a returned-copy marker
    FeedbackReport ses = human.stripLeading().startsWith("{") ? SesNotificationReader.read(human, reportFrom) : null;
    if (ses != null) {
      return ses;
    }

    if (feedbackReport == null && "feedback-report".equalsIgnoreCase(reportType(top))
        && EMBEDDED_ARF.matcher(human).find()) {
      // RFC 5965: a report is a multipart/report of report-type feedback-report; one whose report part is mislabelled
      // (text/plain) is still read. A "Feedback-Type:" line in any other message is text, not a complaint.
      feedbackReport = human;
    }
    if (feedbackReport != null) {
      return complaint(feedbackReport, returned, reportFrom);
    }
    if (deliveryStatus.isEmpty()) {
      FeedbackReport listNotice = ListNoticeReader.read(top, human, reportFrom);
      if (listNotice != null) {
        return listNotice;
      }
    }

    OriginalMessage original = original(returned, null);
    Set<String> notRecipients = notRecipients(top, original);
    List<String> failedHeader = failedRecipientsHeader(top);

    FeedbackReport report = deliveryStatus(deliveryStatus, sections, failedHeader, notRecipients, original, reportFrom);
    if (report != null) {
      return report;
    }

    boolean dsn = !deliveryStatus.isEmpty() || "delivery-status".equalsIgnoreCase(reportType(top));
    // what only a bounce has; a subject is no such thing: an auto-reply's quotes the original's ("Automatic reply:
    // Re: your claim was rejected")
    boolean bounceSender = !failedHeader.isEmpty() || dsn || matches(BOUNCE_SENDER, MimeParts.headerValue(top, "From"));
    String autoSubmitted = autoSubmitted(top);
    if (autoSubmitted != null && !autoSubmitted.equals("no") && !autoSubmitted.equals("auto-replied")
        && !bounceSender) {
      // RFC 3834: auto-generated (and any other value but auto-replied) is mail not written in reply to a message,
      // a helpdesk's acknowledgement say, which no bounce is; it may still name addresses and say "rejected". A
      // bounce is auto-generated too (RFC 3834 5.1 asks it of DSNs, and a non-MIME one from MAILER-DAEMON with
      // X-Failed-Recipients carries it as well): what only a bounce has decides first
      return new FeedbackReport(FeedbackKind.AUTO_REPLY, null, null, List.of(), original, null, reportFrom);
    }
    if (!bounceSender && isAutoReply(top)) {
      return new FeedbackReport(FeedbackKind.AUTO_REPLY, null, null, List.of(), original, null, reportFrom);
    }
    // a bounce forwarded inside another message (a gateway or a user passing it on): the attached report is the real
    // one. Only now: an automatic answer to the return path may return a message that held one, which is not its own
    boolean forwarded = deliveryStatus.isEmpty() && failedHeader.isEmpty() && !forwardedDeliveryStatus.isEmpty();
    if (forwarded) {
      report = deliveryStatus(forwardedDeliveryStatus, sections, failedHeader, notRecipients, original, reportFrom);
      if (report != null) {
        return report;
      }
    }
    boolean bounceHeaders = bounceSender || forwarded
        || matches(BOUNCE_SUBJECT, MimeParts.headerValue(top, "Subject"));

    // report fields pasted into the text itself, not into a copy of the original it returns (which may hold anything,
    // a DSN about someone else say)
    String explanation = sections.explanation();
    if (EMBEDDED_DSN.matcher(explanation).find()) {
      DeliveryStatus status = DeliveryStatusReader.read(explanation);
      if (!status.recipients().isEmpty() && status.recipients().get(0).finalRecipient() != null) {
        List<Finding> findings = BounceTextScanner.findRecipients(sections.explanation(), failedHeader, notRecipients);
        return new FeedbackReport(FeedbackKind.NON_STANDARD_BOUNCE, status.reportingMta(), status.arrivalDate(),
            completeFromText(status.recipients(), findings), original, null, reportFrom);
      }
    }

    if (bounceHeaders || BoundedMatch.find(BOUNCE_TEXT, sections.explanation(), TEXT_BUDGET)) {
      List<Finding> findings = BounceTextScanner.findRecipients(sections.explanation(), failedHeader, notRecipients);
      if (findings.isEmpty() && original != null && original.to() != null) {
        // Nothing in the text names a recipient; a returned message with one To is the best
        // remaining evidence (and transactional mail has one recipient).
        List<String> to = addresses(List.of(original.to()), false, 2);
        if (to.size() == 1) {
          findings = List.of(new Finding(to.get(0), sections.explanation()));
        }
      }
      if (!findings.isEmpty()) {
        boolean delayed = DELAY_TEXT.matcher(sections.explanation()).find();
        List<RecipientReport> recipients = new ArrayList<>();
        for (Finding f : findings) {
          recipients.add(fromText(f, delayed ? "delayed" : "failed"));
        }
        return new FeedbackReport(
            FeedbackKind.NON_STANDARD_BOUNCE, null, null, recipients, original, null, reportFrom);
      }
    }
    return new FeedbackReport(FeedbackKind.UNKNOWN, null, null, List.of(), original, null, reportFrom);
  }

  /** The DSN the first of {@code parts} (delivery-status part texts) that names a recipient makes, else null. */
  private static FeedbackReport deliveryStatus(List<String> parts, Sections sections, List<String> failedHeader,
      Set<String> notRecipients, OriginalMessage original, String reportFrom) {
    for (String ds : parts) {
      DeliveryStatus status = DeliveryStatusReader.read(ds);
      if (!status.recipients().isEmpty()) {
        List<Finding> findings = BounceTextScanner.findRecipients(sections.explanation(), failedHeader, notRecipients);
        List<RecipientReport> recipients = completeFromText(status.recipients(), findings);
        return new FeedbackReport(
            FeedbackKind.DSN, status.reportingMta(), status.arrivalDate(), recipients, original, null, reportFrom);
      }
    }
    return null;
  }

  private static FeedbackReport complaint(String reportText, Header returned, String reportFrom) {
    List<Field> fields = ReportFields.all(reportText);
    List<String> rcptTo = addresses(ReportFields.every(fields, "Original-Rcpt-To"), true, MAX_ADDRESSES);
    String mailFrom = SmtpText.address(ReportFields.first(fields, "Original-Mail-From"));
    String arrival = ReportFields.first(fields, "Arrival-Date");
    if (arrival == null) {
      arrival = ReportFields.first(fields, "Received-Date");
    }
    String reportingMta = ReportFields.withoutType(ReportFields.first(fields, "Reporting-MTA"));
    String feedbackType = ReportFields.first(fields, "Feedback-Type");
    ComplaintReport complaint =
        new ComplaintReport(
            feedbackType == null ? null : feedbackType.strip().toLowerCase(Locale.ROOT),
            ReportFields.first(fields, "User-Agent"),
            ReportFields.first(fields, "Version"),
            rcptTo,
            mailFrom,
            ReportFields.first(fields, "Source-IP"),
            arrival,
            ReportFields.every(fields, "Reported-Domain"),
            reportingMta,
            null);
    OriginalMessage original = original(returned, mailFrom);

    // Who complained: the recipients the report names, else (opt-out) the removal address, else
    // the returned message's To when it holds real addresses.
    List<String> complainants = rcptTo;
    if (complainants.isEmpty()) {
      complainants = addresses(ReportFields.every(fields, "Removal-Recipient"), true, MAX_ADDRESSES);
    }
    if (complainants.isEmpty() && original != null && original.to() != null) {
      complainants = addresses(List.of(original.to()), false, MAX_ADDRESSES);
    }
    List<RecipientReport> recipients = new ArrayList<>();
    for (String a : complainants) {
      recipients.add(new RecipientReport(a, null, null, null, null, null, null, null, null, null));
    }
    return new FeedbackReport(FeedbackKind.ARF, reportingMta, arrival, recipients, original, complaint, reportFrom);
  }

  /**
   * Fills what a DSN left out from the human-readable part: missing addresses (by position) and
   * missing diagnostics (by address), e.g. local failures Postfix explains only in the text.
   */
  private static List<RecipientReport> completeFromText(List<RecipientReport> dsn, List<Finding> findings) {
    Map<String, Finding> byAddress = new LinkedHashMap<>();
    findings.forEach(f -> byAddress.put(f.address().toLowerCase(Locale.ROOT), f));
    List<RecipientReport> out = new ArrayList<>();
    for (int i = 0; i < dsn.size(); i++) {
      RecipientReport r = dsn.get(i);
      String address = r.finalRecipient();
      if (address == null && i < findings.size()) {
        address = findings.get(i).address();
      }
      Finding f = address == null ? null : byAddress.get(address.toLowerCase(Locale.ROOT));
      if (f == null && dsn.size() == findings.size()) {
        // Same count, address not shown in the text (rewritten or anonymised): go by position.
        f = findings.get(i);
      }
      String diagnostic = r.diagnosticCode();
      String status = r.status();
      Integer reply = r.replyCode();
      if (f != null && diagnostic == null) {
        diagnostic = diagnostic(f.text());
        status = DeliveryStatusReader.preferSpecific(status, f.text());
        reply = reply != null ? reply : SmtpText.replyCode(f.text());
      }
      out.add(new RecipientReport(address, r.originalRecipient(), r.action(), status, reply, diagnostic,
          r.remoteMta() != null ? r.remoteMta() : (f == null ? null : BounceTextScanner.remoteMta(f.text())),
          r.lastAttemptDate(),
          r.smtpCommand() != null ? r.smtpCommand() : (f == null ? null : SmtpText.command(f.text())),
          r.mtaCategory(), r.statusField()));
    }
    return out;
  }

  private static RecipientReport fromText(Finding f, String action) {
    String text = f.text();
    return new RecipientReport(
        f.address(), null, action, SmtpText.status(text), SmtpText.replyCode(text), diagnostic(text),
        BounceTextScanner.remoteMta(text), null, SmtpText.command(text), null);
  }

  private static String diagnostic(String text) {
    String d = SmtpText.oneLine(text);
    return d == null || d.length() <= MAX_DIAGNOSTIC ? d : d.substring(0, MAX_DIAGNOSTIC);
  }

  private static OriginalMessage original(Header h, String envelopeSender) {
    if (h == null) {
      return envelopeSender == null ? null
          : new OriginalMessage(null, null, null, null, null, envelopeSender, Map.of());
    }
    Map<String, String> x = new LinkedHashMap<>();
    for (org.apache.james.mime4j.stream.Field f : h.getFields()) {
      String name = f.getName();
      if (name.regionMatches(true, 0, "X-", 0, 2) && !x.containsKey(name)) {
        String v = MimeParts.fieldValue(f);
        x.put(name, v == null ? "" : v);
      }
    }
    String returnPath = SmtpText.address(MimeParts.headerValue(h, "Return-Path"));
    if (returnPath == null) {
      returnPath = envelopeSender;
    }
    if (returnPath == null) {
      for (String received : MimeParts.headerValues(h, "Received")) {
        Matcher m = ENVELOPE_FROM.matcher(received == null ? "" : received);
        if (m.find()) {
          returnPath = SmtpText.normalizeAddress(m.group(1));
          break;
        }
      }
    }
    String messageId = MimeParts.headerValue(h, "Message-ID");
    if (messageId != null) {
      messageId = messageId.replace("<", "").replace(">", "").strip();
    }
    OriginalMessage original =
        new OriginalMessage(
            messageId,
            MimeParts.headerValue(h, "From"),
            MimeParts.headerValue(h, "To"),
            MimeParts.headerValue(h, "Subject"),
            MimeParts.headerValue(h, "Date"),
            returnPath,
            x);
    return original.isEmpty() ? null : original;
  }

  /** The sender and the reporter: their addresses appear in bounce texts but never failed. */
  private static Set<String> notRecipients(Header top, OriginalMessage original) {
    Set<String> out = new HashSet<>();
    for (String name : List.of("From", "To", "Return-Path", "Reply-To", "Sender")) {
      addAll(out, MimeParts.headerValue(top, name));
    }
    if (original != null) {
      addAll(out, original.from());
      addAll(out, original.returnPath());
    }
    return out;
  }

  private static void addAll(Set<String> set, String value) {
    if (value == null) {
      return;
    }
    Matcher m = SmtpText.ADDRESS.matcher(value);
    while (m.find()) {
      set.add(SmtpText.normalizeAddress(m.group()).toLowerCase(Locale.ROOT));
    }
  }

  private static List<String> failedRecipientsHeader(Header top) {
    return addresses(MimeParts.headerValues(top, "X-Failed-Recipients"), false, MAX_ADDRESSES);
  }

  /**
   * The distinct addresses in {@code values} (the first of each, or all), compared without case, the first spelling
   * kept, {@code max} at most: a header of thousands of addresses costs a lookup each, not a scan of those before it.
   */
  private static List<String> addresses(List<String> values, boolean firstOfEach, int max) {
    Map<String, String> found = new LinkedHashMap<>();
    for (String v : values) {
      if (v == null) {
        continue;
      }
      Matcher m = SmtpText.ADDRESS.matcher(v);
      while (found.size() < max && m.find()) {
        String a = SmtpText.normalizeAddress(m.group());
        found.putIfAbsent(a.toLowerCase(Locale.ROOT), a);
        if (firstOfEach) {
          break;
        }
      }
    }
    return new ArrayList<>(found.values());
  }

  /** The Auto-Submitted keyword (RFC 3834), lower case, without its comment or parameters; null when absent. */
  private static String autoSubmitted(Header top) {
    String value = MimeParts.headerValue(top, "Auto-Submitted");
    if (value == null) {
      return null;
    }
    String keyword = value.strip().toLowerCase(Locale.ROOT).split("[\\s;(]", 2)[0];
    return keyword.isEmpty() ? null : keyword;
  }

  private static boolean isAutoReply(Header top) {
    String precedence = MimeParts.headerValue(top, "Precedence");
    return "auto-replied".equals(autoSubmitted(top))
        || MimeParts.headerValue(top, "X-Autoreply") != null
        || MimeParts.headerValue(top, "X-Autorespond") != null
        || (precedence != null && precedence.toLowerCase(Locale.ROOT).contains("auto_reply"))
        || matches(AUTO_REPLY_SUBJECT, MimeParts.headerValue(top, "Subject"));
  }

  private static String reportType(Header top) {
    String ct = MimeParts.headerValue(top, "Content-Type");
    if (ct == null) {
      return null;
    }
    Matcher m = Pattern.compile("(?i)report-type\\s*=\\s*\"?([\\w-]+)").matcher(ct);
    return m.find() ? m.group(1) : null;
  }

  private static boolean matches(Pattern p, String value) {
    return value != null && p.matcher(value).find();
  }

  /**
   * A bounce forwarded as a quoted reply ("> " before every line) is read without the quoting.
   * Only "> " and a bare ">" are removed, so Sendmail's ">>> RCPT TO" transcript lines survive.
   */
  static String unquote(String text) {
    String[] lines = text.split("\n", -1);
    int nonBlank = 0;
    int quoted = 0;
    for (String l : lines) {
      if (!l.isBlank()) {
        nonBlank++;
        if (l.startsWith("> ") || l.strip().equals(">")) {
          quoted++;
        }
      }
    }
    if (nonBlank == 0 || quoted * 2 < nonBlank) {
      return text;
    }
    StringBuilder sb = new StringBuilder(text.length());
    for (String l : lines) {
      sb.append(l.startsWith("> ") ? l.substring(2) : l.strip().equals(">") ? "" : l).append('\n');
    }
    return sb.toString();
  }

  static String htmlToText(String html) {
    // a script or style opened again and again and never closed would be searched to the end each time, and so
    // would each '<' of a tag that never closes
    String text = BoundedMatch.replaceAll(SCRIPT_OR_STYLE, html, " ", TEXT_BUDGET)
        .replaceAll("(?i)<br\\s*/?>|</(p|div|tr|li|h\\d)>", "\n");
    return BoundedMatch.replaceAll(TAG, text, " ", TEXT_BUDGET)
        .replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
        .replace("&#39;", "'").replace("&amp;", "&")
        .replaceAll("[ \\t]+", " ");
  }

  private static FeedbackReport unknown(OriginalMessage original) {
    return new FeedbackReport(FeedbackKind.UNKNOWN, null, null, List.of(), original, null, null);
  }
}
