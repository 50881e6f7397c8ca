package io.mailgate.send.dkim;

import java.nio.charset.StandardCharsets;

/** Test messages covering what the signer must cope with. */
final class Messages {

  private Messages() {}

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static final String SIMPLE = ""
      + "From: Alice <alice@example.com>\r\n"
      + "To: bob@example.net\r\n"
      + "Subject: Hello\r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "Message-ID: <0100018e0e2f5b2a-simple@example.com>\r\n"
      + "MIME-Version: 1.0\r\n"
      + "Content-Type: text/plain; charset=us-ascii\r\n"
      + "Content-Transfer-Encoding: 7bit\r\n"
      + "\r\n"
      + "Hello Bob,\r\n"
      + "\r\n"
      + "This is a test.  Two spaces.\t\tTwo tabs. Trailing space \r\n"
      + "\r\n"
      + "\r\n";

  static final String MULTIPART = ""
      + "From: Alice <alice@example.com>\r\n"
      + "To: Bob <bob@example.net>\r\n"
      + "Cc: carol@example.net\r\n"
      + "Subject: Report attached\r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "Message-ID: <0100018e0e2f5b2a-multipart@example.com>\r\n"
      + "MIME-Version: 1.0\r\n"
      + "Content-Type: multipart/mixed; boundary=\"==outer==\"\r\n"
      + "\r\n"
      + "This is a multi-part message in MIME format.\r\n"
      + "--==outer==\r\n"
      + "Content-Type: multipart/alternative; boundary=\"==inner==\"\r\n"
      + "\r\n"
      + "--==inner==\r\n"
      + "Content-Type: text/plain; charset=utf-8\r\n"
      + "Content-Transfer-Encoding: quoted-printable\r\n"
      + "\r\n"
      + "Caf=C3=A9 report for March.=\r\n"
      + "\r\n"
      + "--==inner==\r\n"
      + "Content-Type: text/html; charset=utf-8\r\n"
      + "Content-Transfer-Encoding: quoted-printable\r\n"
      + "\r\n"
      + "<p>Caf=C3=A9 <b>report</b> for March.</p>\r\n"
      + "--==inner==--\r\n"
      + "--==outer==\r\n"
      + "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
      + "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
      + "Content-Transfer-Encoding: base64\r\n"
      + "\r\n"
      + "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl\r\n"
      + "Y29kZT4+CnN0cmVhbQp4nDPQM1Qo5ypUMFAw0DM0MTc2sTRSsDBWsDRQsDQ0UDDTMzAzAwAxpQTd\r\n"
      + "--==outer==--\r\n";

  static final String FOLDED = ""
      + "From: \"A rather long display name, for folding\"\r\n"
      + "  <alice@example.com>\r\n"
      + "To: bob@example.net,\r\n"
      + "\tcarol@example.net,\r\n"
      + "     dave@example.net\r\n"
      + "Subject: A folded\r\n"
      + " subject   with    runs of  spaces  \r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "Message-ID:\r\n"
      + " <0100018e0e2f5b2a-folded@example.com>\r\n"
      + "MIME-Version: 1.0\r\n"
      + "Content-Type: text/plain;\r\n"
      + "\tcharset=\"us-ascii\";\r\n"
      + "\tformat=flowed\r\n"
      + "\r\n"
      + "Folded headers above.\r\n";

  static final String NO_FINAL_CRLF = ""
      + "From: alice@example.com\r\n"
      + "To: bob@example.net\r\n"
      + "Subject: No final line break\r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "Message-ID: <0100018e0e2f5b2a-nocrlf@example.com>\r\n"
      + "\r\n"
      + "first line\r\n"
      + "last line without a line break";

  static final String UTF8_8BIT = ""
      + "From: =?UTF-8?B?w4lsb2TDqWU=?= <elodee@example.com>\r\n"
      + "To: bob@example.net\r\n"
      + "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "Message-ID: <0100018e0e2f5b2a-8bit@example.com>\r\n"
      + "MIME-Version: 1.0\r\n"
      + "Content-Type: text/plain; charset=utf-8\r\n"
      + "Content-Transfer-Encoding: 8bit\r\n"
      + "\r\n"
      + "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u2713\r\n"
      + "\u00a0non-breaking space is not whitespace\u00a0\r\n";

  static final String DUPLICATES = ""
      + "Received: from a.example.net by b.example.net; Tue, 05 Mar 2024 10:00:01 +0000\r\n"
      + "Received: from c.example.net by a.example.net; Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "from: alice@example.com\r\n"
      + "TO: bob@example.net\r\n"
      + "To: carol@example.net\r\n"
      + "CC: dave@example.net\r\n"
      + "cc: erin@example.net\r\n"
      + "SUBJECT: Many headers\r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "Message-Id: <0100018e0e2f5b2a-dup@example.com>\r\n"
      + "Reply-To: replies@example.com\r\n"
      + "X-Mailer: something\r\n"
      + "List-Unsubscribe: <https://example.com/u/123>, <mailto:u@example.com?subject=123>\r\n"
      + "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
      + "MIME-Version: 1.0\r\n"
      + "Content-Type: text/plain; charset=us-ascii\r\n"
      + "Content-Transfer-Encoding: 7bit\r\n"
      + "\r\n"
      + "Body.\r\n";

  static final String EMPTY_BODY = ""
      + "From: alice@example.com\r\n"
      + "To: bob@example.net\r\n"
      + "Subject: Empty\r\n"
      + "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
      + "\r\n";
}
