package io.mailgate.smtp;

import java.util.Map;

/**
 * One accepted RCPT TO: the forward path and its ESMTP parameters.
 *
 * <p>It exists because DSN handling needs the per-recipient NOTIFY and ORCPT values next to the
 * address they belong to.
 *
 * @param address the forward path without angle brackets (source route removed)
 * @param params every parameter, keyword upper-cased, value as sent ({@code ""} for a keyword
 *     without value)
 */
public record Recipient(String address, Map<String, String> params) {

  public Recipient {
    params = Map.copyOf(params);
  }

  /** The DSN NOTIFY value as sent (for example {@code SUCCESS,FAILURE}), or {@code null}. */
  public String dsnNotify() {
    return params.get("NOTIFY");
  }

  /** The DSN ORCPT value as sent ({@code addr-type;xtext}), or {@code null}. */
  public String originalRecipient() {
    return params.get("ORCPT");
  }
}
