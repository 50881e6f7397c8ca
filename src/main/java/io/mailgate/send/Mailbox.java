package io.mailgate.send;

import java.util.Locale;

/**
 * A validated mailbox: optional display name (Unicode, decoded), a 7-bit local part and an ASCII
 * (punycode) domain. {@link #address()} is the addr-spec used in the SMTP envelope.
 */
public record Mailbox(String displayName, String localPart, String domain) {

  public String address() {
    return localPart + "@" + domain;
  }

  /** The address with the domain lower-cased: two recipients with equal keys get one delivery. */
  public String envelopeKey() {
    return localPart + "@" + domain.toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return displayName == null ? address() : displayName + " <" + address() + ">";
  }
}
