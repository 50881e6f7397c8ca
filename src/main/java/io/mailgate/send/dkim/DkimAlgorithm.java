package io.mailgate.send.dkim;

/** The two signing algorithms DKIM has today (RFC 8301 retired rsa-sha1). */
public enum DkimAlgorithm {
  /** RFC 6376; keys of 1024 bits or more (RFC 8301), 2048 recommended. */
  RSA_SHA256("rsa-sha256", "rsa"),
  /** RFC 8463: PureEdDSA over the SHA-256 of the header data. Sign with RSA as well: many verifiers lack it. */
  ED25519_SHA256("ed25519-sha256", "ed25519");

  private final String tag;
  private final String keyType;

  DkimAlgorithm(String tag, String keyType) {
    this.tag = tag;
    this.keyType = keyType;
  }

  /** The {@code a=} value. */
  public String tag() {
    return tag;
  }

  /** The {@code k=} value of the DNS record. */
  public String keyType() {
    return keyType;
  }
}
