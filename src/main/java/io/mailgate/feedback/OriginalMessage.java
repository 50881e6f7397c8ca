package io.mailgate.feedback;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Headers of the message that bounced or was complained about, as returned inside the report.
 * They are what attributes the report to a message Mailgate sent (Message-ID, our X- headers,
 * the envelope sender). Values are unfolded and MIME-decoded; absent headers are null.
 *
 * @param returnPath the envelope sender: the returned copy's {@code Return-Path}, else an
 *     envelope sender the report states ({@code Original-Mail-From}, Exim's envelope-from)
 * @param xHeaders every {@code X-} header (first value of each), looked up case-insensitively
 */
public record OriginalMessage(
    String messageId,
    String from,
    String to,
    String subject,
    String date,
    String returnPath,
    Map<String, String> xHeaders) {

  public OriginalMessage {
    TreeMap<String, String> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    copy.putAll(xHeaders);
    xHeaders = Collections.unmodifiableSortedMap(copy);
  }

  /** A header by name, case-insensitively, or null. */
  public String xHeader(String name) {
    return xHeaders.get(name);
  }

  boolean isEmpty() {
    return messageId == null && from == null && to == null && subject == null && date == null
        && returnPath == null && xHeaders.isEmpty();
  }
}
