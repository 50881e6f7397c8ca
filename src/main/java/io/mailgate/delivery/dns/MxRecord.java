package io.mailgate.delivery.dns;

/**
 * One MX record: a preference (lower is tried first) and the exchange host, canonical (lower
 * case, no trailing dot), or {@code "."} for the root as in a null MX (RFC 7505).
 */
public record MxRecord(int preference, String exchange) {

  public static final String ROOT = ".";

  /** The exchange is the root: this record says "no mail here" (RFC 7505). */
  public boolean pointsToRoot() {
    return exchange.equals(ROOT);
  }

  /** A null MX proper: preference 0 and the root as exchange. */
  public boolean isNullMx() {
    return preference == 0 && pointsToRoot();
  }
}
