package io.mailgate.feedback;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.james.mime4j.dom.Header;

/**
 * Reads a mailing-list manager's refusal notice: the list received the message and, instead of
 * distributing it, answered with a plain-text notice that is neither a DSN nor worded like a bounce
 * (fml: "You are not a member of this mailing list &lt;list@example.org&gt;.", "Duplicated
 * Message-ID in &lt;list@example.org&gt;."). The list's address is the recipient the message
 * failed for. Such notices return no copy of the message's headers; the refused message is the
 * one their {@code In-Reply-To} or {@code References} names.
 */
final class ListNoticeReader {

  /** Headers by which a list manager identifies itself (fml, Mailman, others). */
  private static final List<String> LIST_SERVER_HEADERS = List.of("X-MLServer", "X-ML-Server", "X-Mailman-Version");

  /** The notice sentences that name the list, the address in angle brackets. */
  private static final Pattern NOTICE =
      Pattern.compile("(?im)^[^\\n]*?(?:not a member of (?:this|the) (?:mailing )?list|duplicated message-id in)"
          + "[^<\\n]{0,80}<(" + SmtpText.ADDRESS.pattern() + ")>[^\\n]*");

  private static final Pattern MESSAGE_ID = Pattern.compile("<([^<>\\s]+@[^<>\\s]+)>");

  private ListNoticeReader() {}

  /** The report, or null when the message is not a list manager's notice. */
  static FeedbackReport read(Header top, String text, String reportFrom) {
    if (LIST_SERVER_HEADERS.stream().noneMatch(h -> MimeParts.headerValue(top, h) != null)) {
      return null;
    }
    Matcher m = NOTICE.matcher(text);
    if (!m.find()) {
      return null;
    }
    String list = SmtpText.normalizeAddress(m.group(1));
    String diagnostic = SmtpText.oneLine(m.group().strip());
    RecipientReport recipient = new RecipientReport(list, null, "failed", null, null, diagnostic, null, null, null, null);
    String refused = refusedMessageId(top);
    OriginalMessage original = refused == null ? null
        : new OriginalMessage(refused, null, null, null, null, null, Map.of());
    return new FeedbackReport(FeedbackKind.NON_STANDARD_BOUNCE, null, null, List.of(recipient), original, null, reportFrom);
  }

  /** In-Reply-To, else the last message ID in References (the message the notice answers). */
  private static String refusedMessageId(Header top) {
    String inReplyTo = MimeParts.headerValue(top, "In-Reply-To");
    Matcher m = MESSAGE_ID.matcher(inReplyTo == null ? "" : inReplyTo);
    if (m.find()) {
      return m.group(1);
    }
    String references = MimeParts.headerValue(top, "References");
    String last = null;
    m = MESSAGE_ID.matcher(references == null ? "" : references);
    while (m.find()) {
      last = m.group(1);
    }
    return last;
  }
}
