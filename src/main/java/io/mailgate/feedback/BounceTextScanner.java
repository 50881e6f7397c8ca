package io.mailgate.feedback;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads bounces that are only human-readable text (qmail, Exim, old Sendmail, Exchange, webmail
 * providers...). There is no common format, so this works on shapes all of them share rather than
 * on per-MTA templates: the text before the returned copy of the message is the explanation; a
 * recipient is an address that starts a line, follows {@code RCPT TO:} or a reply code, or
 * follows a phrase like "delivery to"; the lines after a recipient up to the next recipient say
 * why that recipient failed.
 */
final class BounceTextScanner {

  /** The explanation part and, when the original was pasted inline, its header block. */
  record Sections(String explanation, String returnedHeaders) {}

  /** One failed recipient and the text about it. */
  record Finding(String address, String text) {}

  private static final String ADDR = SmtpText.ADDRESS.pattern();

  private static final int MAX_RECIPIENTS = 500;
  private static final int MAX_MARKER_LINE = 300;
  /** Reads of a line the marker pattern may make: far more than any real line takes, far less than a second. */
  private static final long MARKER_BUDGET = 200_000;

  /** Lines that introduce the returned copy of the message. */
  private static final Pattern RETURNED_MARKER =
      Pattern.compile(
          "(?i)^\\s*(?:"
              + "[-=*_ ]{2,}.*(?:original message|copy of (?:the|your) message|returned message|"
              + "message headers|original headers?|headers? of the original|unsent message|undelivered message|"
              + "below this line|message text follows|original mail|forwarded message|returned mail|"
              + "rfc822|your message was|message follows|原文|元のメッセージ|returned content).*"
              + "|original message(?: headers)? *(?:follows|is attached|below)?[.:]? *$"
              + "|message headers follow.*"
              + "|--- ?below this line is a copy.*"
              + "|below is a copy of the original message.*"
              + "|(?:included|attached|enclosed) (?:below )?(?:is|are) (?:a copy of )?(?:the |your )?(?:original )?message(?:'s)? headers?\\b.*"
              + "|the (?:original|header of the original) message (?:headers? )?(?:is|are|was) (?:as follows|following|included below|attached)[.:]?.*"
              + "|content-type: (?:message/rfc822|text/rfc822-headers|message/global)\\b.*"
              + "|-+ *(?:Original|Returned) (?:Message|mail|Header).*"
              + ")$");

  /** Headers a real pasted header block has, unlike a From/To/Subject summary in the text. */
  private static final Pattern TRANSPORT_HEADER_LINE =
      Pattern.compile(
          "(?i)^(?:Return-Path|Received|Message-ID|MIME-Version|DKIM-Signature|Delivered-To|Content-Type|"
              + "X-[A-Za-z0-9-]+|Authentication-Results|ARC-Seal|Content-Transfer-Encoding):");

  /** Header names that mark the start of a pasted header block. */
  private static final Pattern HEADER_LINE =
      Pattern.compile(
          "(?i)^(?:Return-Path|Received|Message-ID|From|To|Subject|Date|MIME-Version|DKIM-Signature|"
              + "Delivered-To|Reply-To|Content-Type|X-[A-Za-z0-9-]+|Sender|Authentication-Results|ARC-Seal|"
              + "Content-Transfer-Encoding|In-Reply-To|References|Cc):");

  private static final Pattern LINE_START_ADDRESS =
      Pattern.compile("^\\s*(?:[-*>•]\\s*)?(?:(?:Original-|Final-)?Recipient(?: address)?\\s*:\\s*(?:rfc822;\\s*)?)?[<\"']?(" + ADDR + ")[>\"']?(?:\\s*$|\\s*[:.,;(\\[]|\\s+\\S)", Pattern.CASE_INSENSITIVE);
  private static final Pattern RCPT_TO =
      Pattern.compile("RCPT TO:?\\s*<?(" + ADDR + ")", Pattern.CASE_INSENSITIVE);
  private static final Pattern REPLY_THEN_ADDRESS =
      Pattern.compile("^\\s*(?:<<<\\s*)?[45]\\d\\d[ -](?:[45]\\.\\d{1,3}\\.\\d{1,3}\\s+)?<(" + ADDR + ")>", Pattern.CASE_INSENSITIVE);
  private static final Pattern PHRASE_ADDRESS =
      Pattern.compile(
          "(?i)(?:\\bto|\\bfor|recipients?|address(?:es)?|mailbox|user|destinataire|empf[aä]nger|宛先|failed|undeliverable|delivered)"
              + "\\b[^@\\n]{0,40}?[:\\s]\\s*[<\"(\\[]?(" + ADDR + ")");
  private static final Pattern ANY_ADDRESS = Pattern.compile(ADDR);

  /**
   * Lines that open a new part of a Sendmail-style transcript: "... while talking to host:" and
   * the mailer's summary for a host ("550 example.org (smtp)... 550 Host unknown"). What follows
   * them, up to the next recipient named, is about that next recipient, not the previous one.
   */
  private static final Pattern TRANSCRIPT_CONTEXT =
      Pattern.compile("(?i)^\\s*(?:\\.\\.\\.\\s*)?while talking to\\s+\\S");
  private static final Pattern MAILER_SUMMARY =
      Pattern.compile("^\\s*[45]\\d\\d\\s+[^\\s<>@]+\\s+\\([\\w-]+\\)\\.\\.\\.\\s");

  private static final Pattern REMOTE_HOST =
      Pattern.compile(
          "(?i)(?:\\bhost\\s+([A-Za-z0-9][\\w.-]*\\.[A-Za-z]{2,})\\.?\\s*\\[|"
              + "while talking to ([A-Za-z0-9][\\w.-]*[A-Za-z0-9])\\.?:|"
              + "remote host ([\\w.:-]+[A-Za-z0-9]) said|"
              + "\\bby ([A-Za-z0-9][\\w-]*(?:\\.[\\w-]+)+)\\.? \\[\\d|"
              + "^([\\d.]+) does not like recipient|"
              + "Remote-MTA:\\s*(?:dns;\\s*)?([\\w.-]+))",
          Pattern.MULTILINE);

  private BounceTextScanner() {}

  /**
   * Splits the reporter's text from a pasted copy of the original: at a marker line when there is
   * one, else at the first run of header lines after a blank line.
   */
  static Sections split(String text) {
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = ReportFields.stripCr(lines[i]);
      // a marker is a short line; a long one is text, and tried against the marker it could take cubic time
      if (line.length() <= MAX_MARKER_LINE && BoundedMatch.matches(RETURNED_MARKER, line, MARKER_BUDGET)) {
        return new Sections(join(lines, 0, i), headerBlockFrom(lines, i + 1));
      }
    }
    for (int i = 1; i < lines.length - 2; i++) {
      if (lines[i - 1].isBlank() && startsHeaderRun(lines, i)) {
        return new Sections(join(lines, 0, i), headerBlockFrom(lines, i));
      }
    }
    return new Sections(text, null);
  }

  /**
   * Failed recipients in the order the text names them, each with its own part of the text.
   *
   * @param known recipients the report's headers name (X-Failed-Recipients): they come first and
   *     are trusted even when the text does not show them
   * @param notRecipients addresses that are the sender or the reporter, never a recipient
   */
  static List<Finding> findRecipients(String explanation, List<String> known, Set<String> notRecipients) {
    String[] lines = explanation.split("\n", -1);
    // by lower-cased address, in the order found; each holds MAX_RECIPIENTS at most: the blocks below search each
    // line for each recipient, and a text of 29,000 short addresses must not cost more than a real bounce does
    Map<String, String> strong = new LinkedHashMap<>();
    Map<String, String> weak = new LinkedHashMap<>();
    for (String raw : lines) {
      String line = ReportFields.stripCr(raw);
      if (line.toLowerCase(Locale.ROOT).contains("message-id")) {
        continue;
      }
      collect(LINE_START_ADDRESS, line, strong, notRecipients);
      collect(RCPT_TO, line, strong, notRecipients);
      collect(REPLY_THEN_ADDRESS, line, strong, notRecipients);
      collect(PHRASE_ADDRESS, line, weak, notRecipients);
    }
    Map<String, String> chosen = new LinkedHashMap<>();
    for (String k : known) {
      String lower = k.toLowerCase(Locale.ROOT);
      if (!notRecipients.contains(lower) && chosen.size() < MAX_RECIPIENTS) {
        chosen.putIfAbsent(lower, k);
      }
    }
    if (chosen.isEmpty()) {
      chosen.putAll(strong.isEmpty() ? weak : strong);
    }
    if (chosen.isEmpty()) {
      for (String raw : lines) {
        collect(ANY_ADDRESS, raw, chosen, notRecipients);
      }
    }
    if (chosen.isEmpty() && !notRecipients.isEmpty()) {
      // Only the sender's own address was named: a message sent to oneself bounced.
      return findRecipients(explanation, known, Set.of());
    }
    return blocks(lines, new ArrayList<>(chosen.values()));
  }

  /** The remote MTA named in a recipient's text, or null. */
  static String remoteMta(String text) {
    Matcher m = REMOTE_HOST.matcher(text);
    if (m.find()) {
      for (int g = 1; g <= m.groupCount(); g++) {
        if (m.group(g) != null) {
          return m.group(g);
        }
      }
    }
    return null;
  }

  /** Adds the line's matches to {@code into} (lower-cased address to address as found), up to MAX_RECIPIENTS. */
  private static void collect(Pattern p, String line, Map<String, String> into, Set<String> excluded) {
    if (into.size() >= MAX_RECIPIENTS) {
      return;
    }
    Matcher m = p.matcher(line);
    while (m.find() && into.size() < MAX_RECIPIENTS) {
      String a = SmtpText.normalizeAddress(m.groupCount() >= 1 ? m.group(1) : m.group());
      String lower = a.toLowerCase(Locale.ROOT);
      if (isRecipientCandidate(lower, excluded)) {
        into.putIfAbsent(lower, a);
      }
    }
  }

  private static boolean isRecipientCandidate(String lower, Set<String> excluded) {
    String local = lower.substring(0, lower.indexOf('@'));
    return !excluded.contains(lower) && !local.equals("mailer-daemon") && !local.equals("mailer_daemon");
  }

  /**
   * Gives each line to the recipient last named at or before it, so each recipient gets the text
   * that follows its mentions. A recipient never named in the text gets the whole text.
   *
   * <p>In a transcript, a "while talking to" line or a mailer summary line starts the account of
   * another delivery attempt: those lines are held until the next recipient is named and go to
   * that recipient (Sendmail names the recipient after the conversation, "&gt;&gt;&gt; DATA / &lt;&lt;&lt;
   * 550 ... / 554 &lt;rcpt&gt;... error"). Held lines that no later recipient claims stay with the
   * previous one, as before.
   */
  private static List<Finding> blocks(String[] lines, List<String> recipients) {
    Map<String, StringBuilder> text = new LinkedHashMap<>();
    recipients.forEach(r -> text.put(r, new StringBuilder()));
    List<String> lowered = recipients.stream().map(r -> r.toLowerCase(Locale.ROOT)).toList();
    int owner = -1;
    StringBuilder preamble = new StringBuilder();
    StringBuilder held = null;
    int heldFrom = -1; // the owner before the held lines, who keeps them if nobody claims them
    for (String raw : lines) {
      String line = ReportFields.stripCr(raw);
      String lower = line.toLowerCase(Locale.ROOT);
      int named = -1;
      int namedAt = Integer.MAX_VALUE;
      boolean ownerNamed = false;
      // every recipient holds an '@': a line without one names none (most lines), and needs no search for each
      int recipientsToSearch = lower.indexOf('@') < 0 ? 0 : lowered.size();
      for (int r = 0; r < recipientsToSearch; r++) {
        int at = lower.indexOf(lowered.get(r));
        if (at < 0) {
          continue;
        }
        if (r == owner) {
          ownerNamed = true;
          break;
        }
        if (at < namedAt) {
          named = r;
          namedAt = at;
        }
      }
      if (named < 0 && !ownerNamed
          && (TRANSCRIPT_CONTEXT.matcher(line).find() || (held == null && MAILER_SUMMARY.matcher(line).find()))) {
        if (held != null) {
          release(held, heldFrom, preamble, text, recipients);
        }
        held = new StringBuilder();
        heldFrom = owner;
        owner = -1;
      }
      if (!ownerNamed && named >= 0) {
        owner = named;
        if (held != null) {
          text.get(recipients.get(owner)).append(held);
          held = null;
        }
      }
      (held != null ? held : owner < 0 ? preamble : text.get(recipients.get(owner))).append(line).append('\n');
    }
    if (held != null) {
      release(held, heldFrom, preamble, text, recipients);
    }
    List<Finding> findings = new ArrayList<>();
    // made once and shared: each of hundreds of recipients with a copy of a 256 KB preamble was a hundred MB
    String shared = preamble.toString();
    String head = shared.length() > MAX_SHARED_HEAD ? shared.substring(0, MAX_SHARED_HEAD) : shared;
    for (String r : recipients) {
      String own = text.get(r).toString();
      // Some reports give the reason first and the recipients after it ("Could not be delivered
      // because of 550 5.1.1 User unknown. The following recipients were affected: ...").
      boolean hasCode = SmtpText.replyCode(own) != null || SmtpText.status(own) != null;
      String body = own.isBlank() ? shared : hasCode ? own : head + own;
      findings.add(new Finding(r, body));
    }
    return findings;
  }

  /** How much of the preamble goes before a recipient's own lines that give no reason (the reason comes first). */
  static final int MAX_SHARED_HEAD = 16 * 1024;

  /** Held transcript lines no later recipient claimed go back where they would have gone. */
  private static void release(StringBuilder held, int heldFrom, StringBuilder preamble,
      Map<String, StringBuilder> text, List<String> recipients) {
    (heldFrom < 0 ? preamble : text.get(recipients.get(heldFrom))).append(held);
  }

  private static boolean startsHeaderRun(String[] lines, int i) {
    int headers = 0;
    boolean transport = false;
    for (int j = i; j < lines.length && j < i + 8; j++) {
      String l = ReportFields.stripCr(lines[j]);
      if (HEADER_LINE.matcher(l).find()) {
        headers++;
        transport |= TRANSPORT_HEADER_LINE.matcher(l).find();
      } else if (!(l.startsWith(" ") || l.startsWith("\t")) || l.isBlank()) {
        break;
      }
    }
    return headers >= 3 && transport && HEADER_LINE.matcher(ReportFields.stripCr(lines[i])).find();
  }

  private static String headerBlockFrom(String[] lines, int from) {
    int i = from;
    // Blank lines and a rule of dashes may sit between the marker and the headers.
    while (i < lines.length && (lines[i].isBlank() || lines[i].strip().matches("[-=*_]{3,}"))) {
      i++;
    }
    StringBuilder sb = new StringBuilder();
    for (; i < lines.length; i++) {
      String l = ReportFields.stripCr(lines[i]);
      if (l.isBlank()) {
        break;
      }
      sb.append(l).append('\n');
    }
    return sb.length() == 0 ? null : sb.toString();
  }

  private static String join(String[] lines, int from, int to) {
    StringBuilder sb = new StringBuilder();
    for (int i = from; i < to; i++) {
      sb.append(ReportFields.stripCr(lines[i])).append('\n');
    }
    return sb.toString();
  }
}
