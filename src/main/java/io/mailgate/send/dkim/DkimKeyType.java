package io.mailgate.send.dkim;

/** Key kinds Mailgate generates for Easy DKIM-style identities. */
public enum DkimKeyType {
  /** The default, what SES uses. */
  RSA_2048("RSA", 2048),
  /** For DNS providers that cannot hold a TXT record longer than 255 characters. */
  RSA_1024("RSA", 1024),
  /** RFC 8463; publish alongside an RSA key. */
  ED25519("Ed25519", 0);

  final String jcaAlgorithm;
  final int bits;

  DkimKeyType(String jcaAlgorithm, int bits) {
    this.jcaAlgorithm = jcaAlgorithm;
    this.bits = bits;
  }
}
