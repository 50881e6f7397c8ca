package io.mailgate.testing;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What a raw message is sent as: as SES, its Message-ID and Date replaced, every other byte as its sender wrote it. */
public final class RawSends {
  /** The Message-ID domain of a test node ({@code send.messageIdDomain}'s default). */
  public static final String MESSAGE_ID_DOMAIN = "email.mailgate.local";
  private static final Pattern DATE = Pattern.compile("(?mi)^Date:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*");
  private static final Pattern MESSAGE_ID = Pattern.compile("(?mi)^Message-ID:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*");

  private RawSends() {}

  /**
   * {@code raw} (CRLF line endings) as Mailgate sends it with the MessageId {@code id}: its Message-ID field ours, its
   * Date field the one {@code sent} has (the time it was accepted), each where it stood or, missing, added at the top.
   */
  public static byte[] asSent(byte[] raw, String id, byte[] sent) {
    String r = new String(raw, StandardCharsets.ISO_8859_1);
    String s = new String(sent, StandardCharsets.ISO_8859_1);
    Matcher ourDate = DATE.matcher(headers(s));
    if (!ourDate.find()) {
      throw new AssertionError("no Date in what was sent: " + headers(s));
    }
    String date = ourDate.group();
    String messageId = "Message-ID: <" + id + "@" + MESSAGE_ID_DOMAIN + ">\r\n";
    String head = headers(r);
    String body = r.substring(head.length());
    String top = "";
    Matcher d = DATE.matcher(head);
    if (d.find()) {
      if (d.group().equals(date)) {
        throw new AssertionError("the caller's Date was sent as it was: " + date);
      }
      head = head.substring(0, d.start()) + date + head.substring(d.end());
    } else {
      top += date;
    }
    Matcher m = MESSAGE_ID.matcher(head);
    if (m.find()) {
      head = head.substring(0, m.start()) + messageId + head.substring(m.end());
    } else {
      top += messageId;
    }
    return (top + head + body).getBytes(StandardCharsets.ISO_8859_1);
  }

  /** {@link #asSent(byte[], String, byte[])} for a message written as UTF-8 text. */
  public static String asSent(String raw, String id, byte[] sent) {
    return new String(asSent(raw.getBytes(StandardCharsets.UTF_8), id, sent), StandardCharsets.UTF_8);
  }

  /** The header section of {@code message}, its blank line excluded (the whole message when it has none). */
  private static String headers(String message) {
    int end = message.indexOf("\r\n\r\n");
    return end < 0 ? message : message.substring(0, end + 2);
  }
}
