package io.mailgate.delivery.dns;

import java.util.HexFormat;

/**
 * A TLSA record (RFC 6698 2.1): which certificate of a TLS server's chain it is about ({@code usage}: 0 PKIX-TA,
 * 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE), what of it is matched ({@code selector}: 0 the whole certificate, 1 its
 * SubjectPublicKeyInfo) and how ({@code matchingType}: 0 the bytes themselves, 1 their SHA-256, 2 their SHA-512).
 *
 * @param data the association data, in lower-case hex
 */
public record TlsaRecord(int usage, int selector, int matchingType, String data) {
  public TlsaRecord {
    data = data.toLowerCase(java.util.Locale.ROOT);
  }

  /** The association data's bytes. */
  public byte[] bytes() {
    return HexFormat.of().parseHex(data);
  }

  /** As in a zone file: {@code 3 1 1 0123...}. */
  @Override
  public String toString() {
    return usage + " " + selector + " " + matchingType + " " + data;
  }
}
