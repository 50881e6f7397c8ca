package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.SesException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

class RawMessageTest {
  static final ZonedDateTime NOW = ZonedDateTime.of(2026, 11, 28, 10, 0, 0, 0, ZoneOffset.UTC);

  static RawMessage.Prepared prepare(String raw) {
    return RawMessage.prepare(raw.getBytes(StandardCharsets.UTF_8), "gen@example.com", NOW);
  }

  static String text(RawMessage.Prepared p) {
    return new String(p.content(), StandardCharsets.UTF_8);
  }

  /**
   * A UTF-8 display name (RFC 6532) does not cut the address after it short: mime4j read as many bytes as the text had
   * characters, and the address checked for verification was a prefix of the one the header kept.
   */
  @Test
  void aUtf8DisplayNameKeepsTheWholeAddress() {
    RawMessage.Prepared p = prepare("From: \"ÄÄÄÄÄÄÄÄÄÄÄ\" <x@verified.example.victim.example>\r\n"
        + "To: Jürgen <j@example.org>, \"Bänk Sécurité\" <ceo@bank.example>\r\nSubject: s\r\n\r\nbody\r\n");
    assertEquals("x@verified.example.victim.example", p.from().address());
    assertEquals(List.of("j@example.org", "ceo@bank.example"), p.to().stream().map(Mailbox::address).toList());
    assertEquals("Bänk Sécurité", p.to().get(1).displayName());
  }

  /** As SES: the caller's Date and Message-ID are replaced where they stand; every other field kept byte for byte. */
  @Test
  void keepsWhatTheSenderWroteAndRemovesBcc() {
    String raw = "From: A <a@example.com>\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\nMessage-ID: <mine@example.com>\r\n"
        + "To: b@example.org,\r\n  \"C, Person\" <c@example.org>\r\nBcc: hidden@example.org,\r\n other@example.org\r\n"
        + "Subject: folded\r\n subject\r\n\r\nbody\r\n";
    RawMessage.Prepared p = prepare(raw);
    assertEquals(raw.replace("Bcc: hidden@example.org,\r\n other@example.org\r\n", "")
        .replace("Date: Fri, 27 Nov 2026 09:00:00 +0000", "Date: Sat, 28 Nov 2026 10:00:00 +0000")
        .replace("Message-ID: <mine@example.com>", "Message-ID: <gen@example.com>"), text(p));
    assertEquals("a@example.com", p.from().address());
    assertEquals(List.of("b@example.org", "c@example.org"), p.to().stream().map(Mailbox::address).toList());
    assertEquals(List.of("hidden@example.org", "other@example.org"), p.bcc().stream().map(Mailbox::address).toList());
    assertEquals("Date: Fri, 27 Nov 2026 09:00:00 +0000\r\nMessage-ID: <mine@example.com>\r\n",
        new String(p.replacedFields(), StandardCharsets.US_ASCII), "the caller's own, for its events");
  }

  /** What a message replaced is kept with CRLF line breaks, whatever it was written with; nothing when none was. */
  @Test
  void replacedFieldsEndInCrlf() {
    RawMessage.Prepared p = prepare("From: a@example.com\nMessage-ID:\n <folded@example.com>\nTo: b@example.org\n"
        + "Date: Fri, 27 Nov 2026 09:00:00 +0000");
    assertEquals("Message-ID:\r\n <folded@example.com>\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\n",
        new String(p.replacedFields(), StandardCharsets.US_ASCII));
    assertNull(prepare("From: a@example.com\r\nTo: b@example.org\r\n\r\nx\r\n").replacedFields());
  }

  @Test
  void addsMissingDateAndMessageIdAndNormalizesLineEndings() {
    RawMessage.Prepared p = prepare("From: a@example.com\nTo: b@example.org\nSubject: x\n\nline\rnext\nlast");
    String s = text(p);
    assertTrue(s.startsWith("Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <gen@example.com>\r\n"), s);
    assertTrue(s.endsWith("\r\n\r\nline\r\nnext\r\nlast\r\n"), s);
    assertTrue(!s.replace("\r\n", "").contains("\n") && !s.replace("\r\n", "").contains("\r"), s);
  }

  @Test
  void groupsAndHeaderOnlyMessages() {
    RawMessage.Prepared p = prepare("From: a@example.com\r\nTo: Team: x@example.org, y@example.org;\r\nSubject: s");
    assertEquals(List.of("x@example.org", "y@example.org"), p.to().stream().map(Mailbox::address).toList());
    assertTrue(text(p).endsWith("Subject: s\r\n\r\n"), text(p));
  }

  /** A quoted local part is as valid in a raw message's header as in a Destination; one with CR or 8 bits is not. */
  @Test
  void quotedLocalPartsInHeaders() {
    RawMessage.Prepared p = prepare("From: a@example.com\r\nTo: \"john doe\"@example.org, \"x\\\"y\"@example.org\r\n"
        + "Subject: s\r\n\r\nbody\r\n");
    assertEquals(List.of("\"john doe\"@example.org", "\"x\\\"y\"@example.org"),
        p.to().stream().map(Mailbox::address).toList());
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nTo: \"jöhn\"@example.org\r\n\r\nx\r\n"));
    // not quoted, a space is no part of an address (mime4j would join the words)
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nTo: john doe@example.org\r\n\r\nx\r\n"));
  }

  @Test
  void refusesWhatCannotBeSentUnchanged() {
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n\r\n" + "z".repeat(999) + "\r\n"));
    assertThrows(SesException.class, () -> prepare("not a header line\r\n\r\nbody"));
    assertThrows(SesException.class, () -> prepare(" continuation first\r\n\r\nbody"));
    assertThrows(SesException.class, () -> prepare(""));
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nTo: broken@\r\n\r\nbody"));
  }

  /** RFC 5322 3.6: fields a message has once; a From always (the Source is the envelope's); no NUL. */
  @Test
  void refusesRepeatedFieldsAMissingFromAndNul() {
    SesException twice = assertThrows(SesException.class,
        () -> prepare("From: a@example.com\r\nSubject: one\r\nsubject: two\r\n\r\nb\r\n"));
    assertEquals("Duplicate header 'Subject'.", twice.getMessage()); // SES's words
    assertEquals(SesError.BAD_REQUEST, twice.error());
    for (String field : List.of("Date: Mon, 1 Jan 2024 00:00:00 +0000", "Message-ID: <a@b>", "To: b@example.org",
        "In-Reply-To: <x@y>", "Sender: s@example.com")) {
      assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n" + field + "\r\n" + field
          + "\r\n\r\nb\r\n"), field);
    }
    SesException noFrom = assertThrows(SesException.class, () -> prepare("To: b@example.org\r\n\r\nb\r\n"));
    assertEquals("Missing required header 'From'.", noFrom.getMessage());
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nSubject: a\u0000b\r\n\r\nb\r\n"));
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n\r\nb\u0000\r\n"));
    // fields a message may repeat stay allowed
    assertEquals(2, text(prepare("From: a@example.com\r\nReceived: a\r\nReceived: b\r\nX-Custom: 1\r\n"
        + "X-Custom: 2\r\nResent-To: r@example.org\r\nResent-To: s@example.org\r\n\r\nb\r\n"))
        .split("Received:").length - 1);
  }

  /**
   * SES's list of fields a message may not repeat ("Amazon SES header fields"), beyond RFC 5322's: the message's own
   * MIME fields (two Content-Types would let a filter and a reader see different messages), and Comments, Keywords
   * and DKIM-Signature, which RFC 5322 and 6376 would allow twice but SES refuses ("Duplicate header
   * 'DKIM-Signature'."). Only the message's header section counts: a part has its own.
   */
  @Test
  void refusesWhatSesRefusesToSeeRepeated() {
    for (String field : List.of("Content-Type: text/plain", "content-transfer-encoding: 7bit", "MIME-Version: 1.0",
        "Comments: x", "Keywords: a", "DKIM-Signature: v=1; d=example.com; s=a; h=from; bh=AAAA; b=AAAA",
        "Return-Path: <a@example.com>", "List-Unsubscribe: <mailto:u@example.com>", "Content-Disposition: inline")) {
      String name = field.substring(0, field.indexOf(':'));
      SesException e = assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n" + field + "\r\n"
          + field.toUpperCase(java.util.Locale.ROOT).replace(": ", ":") + "\r\n\r\nb\r\n"), field);
      assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).equals("duplicate header '"
          + name.toLowerCase(java.util.Locale.ROOT) + "'."), e.getMessage());
    }
    String parts = "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        + "--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--b--\r\n";
    assertTrue(text(prepare(parts)).endsWith("--b--\r\n"));
  }

  /**
   * A header may list any number of addresses: they are counted before they are parsed, and more than the recipient
   * limit in From, or in To, Cc and Bcc together, or more than one in Sender, is refused at once.
   */
  @Test
  void refusesHeadersWithTooManyAddressesBeforeParsingThem() {
    StringBuilder from = new StringBuilder("From: a0@example.com");
    for (int i = 1; i < 50_000; i++) {
      from.append(",\r\n a").append(i).append("@example.com");
    }
    String huge = from + "\r\nTo: b@example.org\r\n\r\nbody\r\n";
    assertTrue(huge.length() > 1_000_000, "size " + huge.length());
    SesException e = assertThrows(SesException.class, () -> prepare(huge));
    assertEquals(SesError.BAD_REQUEST, e.error());
    assertEquals("The From header has more than 50 addresses.", e.getMessage());

    // quoted local parts, which the old check looked for in the whole field once per address
    StringBuilder to = new StringBuilder("From: a@example.com\r\nTo: \"x 0\"@example.org");
    for (int i = 1; i < 50_000; i++) {
      to.append(",\r\n \"x ").append(i).append("\"@example.org");
    }
    SesException many = assertThrows(SesException.class, () -> prepare(to + "\r\n\r\nbody\r\n"));
    assertTrue(many.getMessage().startsWith("Recipient count exceeds 50"), many.getMessage());

    // To, Cc and Bcc count together; 50 is the limit, not 49
    String fifty = "From: a@example.com\r\n" + list("To", 20) + list("Cc", 20) + list("Bcc", 10) + "\r\nb\r\n";
    RawMessage.Prepared p = prepare(fifty);
    assertEquals(50, p.to().size() + p.cc().size() + p.bcc().size());
    SesException fiftyOne = assertThrows(SesException.class,
        () -> prepare("From: a@example.com\r\n" + list("To", 20) + list("Cc", 20) + list("Bcc", 11) + "\r\nb\r\n"));
    assertTrue(fiftyOne.getMessage().startsWith("Recipient count exceeds 50"), fiftyOne.getMessage());
    // the limit is send.maxRecipients
    assertThrows(SesException.class, () -> RawMessage.prepare(fifty.getBytes(StandardCharsets.US_ASCII),
        "gen@example.com", NOW, 49));

    // what only looks like more addresses is not counted: an @ in a quoted display name or a comment, a comma in
    // them, a group's name, an empty group
    StringBuilder named = new StringBuilder("From: \"a@example.com, x\" (b@c, d) <a@example.com>\r\nTo: ");
    for (int i = 0; i < 49; i++) {
      named.append("\"r").append(i).append("@example.org, (copy)\" <r").append(i).append("@example.org>,\r\n ");
    }
    named.append("Team: t@example.org;\r\nCc: undisclosed-recipients:;\r\n\r\nb\r\n");
    RawMessage.Prepared n = prepare(named.toString());
    assertEquals(50, n.to().size());
    assertEquals("a@example.com", n.from().address());

    SesException senders = assertThrows(SesException.class,
        () -> prepare("From: a@example.com\r\nSender: s@example.com, t@example.com\r\n\r\nb\r\n"));
    assertEquals("The Sender header may contain only one address (RFC 5322 section 3.6.2).", senders.getMessage());
    assertEquals(1, prepare("From: a@example.com, b@example.com\r\nSender: \"S, s@x\" <s@example.com>\r\n\r\nb\r\n")
        .sender().size());
  }

  private static String list(String field, int n) {
    StringBuilder sb = new StringBuilder(field).append(": ");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",\r\n ").append(field.toLowerCase(java.util.Locale.ROOT)).append(i).append("@example.org");
    }
    return sb.append("\r\n").toString();
  }

  @Test
  void quotedLocalPartsAreFoundInOnePass() {
    assertEquals(java.util.Set.of("\"a b\"", "\"x\\\"y\""),
        RawMessage.quotedLocalParts("\"Name\" <\"a b\"@x.example>, (\"c d\"@x) \"x\\\"y\"@x.example, \"n\" @x"));
  }

  /**
   * As SES: Return-Path and Resent-Bcc are not sent (the receiving server adds its own Return-Path); the Return-Path
   * is kept aside, the feedback address of a send that names none (SendService).
   */
  @Test
  void removesReturnPathAndResentBccAndKeepsTheReturnPathAside() {
    RawMessage.Prepared p = prepare("Return-Path: <bounces@example.com>\r\nFrom: a@example.com\r\n"
        + "Resent-Bcc: secret@example.org\r\nTo: b@example.org\r\nSubject: s\r\n\r\nb\r\n");
    assertEquals("Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <gen@example.com>\r\nFrom: a@example.com\r\n"
        + "To: b@example.org\r\nSubject: s\r\n\r\nb\r\n", text(p));
    assertEquals("<bounces@example.com>", p.returnPath());
    assertEquals("bounces@example.com", RawMessage.returnPathAddress(p.returnPath()).address());
    assertEquals(null, RawMessage.returnPathAddress(" < > "));
    assertEquals(null, prepare("From: a@example.com\r\n\r\nb\r\n").returnPath());
    assertThrows(SesException.class, () -> RawMessage.returnPathAddress("<not an address>"));
  }

  /**
   * SES refuses a raw message's part named as a file of a type it does not accept, as it refuses such an attachment
   * of a Simple message: MessageRejected, "Illegal filename". Every way a name is written counts.
   */
  @Test
  void refusesPartsNamedAsBlockedFileTypes() {
    String head = "From: a@example.com\r\nTo: b@example.org\r\nMIME-Version: 1.0\r\n";
    for (String part : List.of(
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.exe\"",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=run.BAT",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=x.exe (x)",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe. \"",
        "Content-Type: application/octet-stream; name=\"x.js\"",
        "Content-Type: application/octet-stream\r\nContent-Disposition: inline; filename*=UTF-8''r%C3%A9sum%C3%A9%2Eexe",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*0=\"ev\";\r\n"
            + " filename*1=\"il.v\"; filename*2=bs",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*0*=utf-8''a%2E;\r\n"
            + " filename*1=\"scr\"",
        "Content-Type: application/octet-stream; name=\"=?UTF-8?B?ZXZpbC5leGU=?=\"",
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"ok.pdf\";"
            + " filename=\"x.exe\"")) {
      String mixed = head + "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
          + "hello\r\n--b\r\n" + part + "\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n";
      SesException e = assertThrows(SesException.class, () -> prepare(mixed), part);
      assertEquals(SesError.MESSAGE_REJECTED, e.error(), part);
      assertTrue(e.getMessage().startsWith("Illegal filename '"), e.getMessage());
    }
    // the message itself, a part of a nested multipart, one of a multipart without its close delimiter, and one of
    // a forwarded message
    assertThrows(SesException.class, () -> prepare(head + "Content-Type: application/octet-stream\r\n"
        + "Content-Disposition: attachment; filename=x.exe\r\n\r\nTVqQ\r\n"));
    assertThrows(SesException.class, () -> prepare(head + "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        + "Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain; name=a.vbs\r\n"
        + "\r\nx\r\n--i--\r\n--o--\r\n"));
    assertThrows(SesException.class, () -> prepare(head + "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        + "Content-Type: text/plain\r\n\r\nx\r\n--o\r\nContent-Type: application/x-msdownload; name=a.exe\r\n\r\nTVqQ\r\n"));
    assertThrows(SesException.class, () -> prepare(head + "Content-Type: message/rfc822\r\n\r\nFrom: c@example.com\r\n"
        + "Content-Type: application/octet-stream; name=\"inner.exe\"\r\n\r\nTVqQ\r\n"));
    // a part whose header section the strict reader refuses is still read for its names, as lenient readers show it
    assertThrows(SesException.class, () -> prepare(head + "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        + "Content-Disposition : attachment; filename=\"setup.exe\"\r\nX\r\nContent-Type: application/octet-stream\r\n"
        + "\r\nTVqQ\r\n--o--\r\n"));
    // parts nested deeper than are looked into are refused, not let through
    String nested = "";
    for (int i = 0; i <= RawAttachments.MAX_DEPTH; i++) {
      nested += "Content-Type: multipart/mixed; boundary=b" + i + "\r\n\r\n--b" + i + "\r\n";
    }
    String deep = nested + "Content-Type: application/octet-stream; name=deep.exe\r\n\r\nTVqQ\r\n";
    SesException tooDeep = assertThrows(SesException.class, () -> prepare(head + deep));
    assertEquals(SesError.MESSAGE_REJECTED, tooDeep.error());
    // other names pass; a blocked extension elsewhere than a part's name is no name
    RawMessage.Prepared ok = prepare(head + "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n\r\nrun setup.exe\r\n--b\r\nContent-Type: application/pdf; name=r.pdf\r\n"
        + "Content-Disposition: attachment; filename=\"report.exe.pdf\"\r\nX-Note: x.exe\r\n\r\nJVBERi0=\r\n--b--\r\n");
    assertTrue(text(ok).contains("report.exe.pdf"));
  }

  /**
   * A multipart's type is read as lenient readers read it, comments and spaces around the '/' included, so its parts
   * are checked for blocked names; a Content-Type that gives its boundary twice (readers differ on which counts) is
   * refused.
   */
  @Test
  void partsHiddenByHowTheTypeIsWrittenAreStillChecked() {
    String head = "From: a@example.com\r\nTo: b@example.org\r\nMIME-Version: 1.0\r\n";
    String parts = "\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n"
        + "Content-Type: application/octet-stream; name=\"x.exe\"\r\n\r\nTVqQ\r\n--b--\r\n";
    for (String type : List.of("multipart (comment)/mixed; boundary=b", "multipart /mixed; boundary=b",
        "multipart/ (c) mixed; boundary=\"b\" (a; boundary=c)")) {
      SesException e = assertThrows(SesException.class, () -> prepare(head + "Content-Type: " + type + parts), type);
      assertEquals(SesError.MESSAGE_REJECTED, e.error(), type);
    }
    SesException twice = assertThrows(SesException.class, () -> prepare(head
        + "Content-Type: multipart/mixed; boundary=\"a\"; boundary=\"b\"\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\n"
        + "hi\r\n--b\r\nContent-Type: application/octet-stream; name=\"x.ex\"\r\n\r\nTVqQ\r\n--b--\r\n--a--\r\n"));
    assertEquals(SesError.BAD_REQUEST, twice.error());
    assertTrue(twice.getMessage().contains("'boundary' more than once"), twice.getMessage());

    // a '"' in a comment does not hide a name from this check (it does not from a reader that drops comments)
    for (String field : List.of("Content-Disposition: attachment (\") ; filename=evil.exe ; x=(\")",
        "Content-Type: application/x-msdownload (\") ; name=evil.exe ; x=(\")")) {
      SesException e = assertThrows(SesException.class, () -> prepare(head + field + "\r\n\r\nTVqQ\r\n"), field);
      assertEquals(SesError.MESSAGE_REJECTED, e.error(), field);
    }
    // a boundary read as "b" here and by mime4j, as "b(x)" by a reader that reads to the next ';'
    SesException commented = assertThrows(SesException.class, () -> prepare(head
        + "Content-Type: multipart/mixed; boundary=b(x)" + parts.replace("--b", "--b(x)")));
    assertEquals(SesError.BAD_REQUEST, commented.error());
    assertTrue(commented.getMessage().contains("boundary has a comment"), commented.getMessage());
    // a part of two Content-Type fields: this walk takes the first, other readers the last
    SesException fields = assertThrows(SesException.class, () -> prepare(head
        + "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n"
        + "Content-Type: multipart/mixed; boundary=b" + parts + "--a--\r\n"));
    assertEquals(SesError.BAD_REQUEST, fields.error());
    assertTrue(fields.getMessage().contains("more than one Content-Type"), fields.getMessage());
    // a quoted boundary may hold parentheses: no comment there
    prepare(head + "Content-Type: multipart/mixed; boundary=\"b(x)\"\r\n\r\n--b(x)\r\nContent-Type: text/plain\r\n\r\n"
        + "hello\r\n--b(x)--\r\n");
  }

  @Test
  void cleanInputIsNotCopied() {
    byte[] clean = "a: b\r\n\r\nc\r\n".getBytes(StandardCharsets.US_ASCII);
    assertSame(clean, RawMessage.normalizeLineEndings(clean));
  }
}
