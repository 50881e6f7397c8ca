package io.mailgate.api.sigv4;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A query string read exactly as SigV4 canonicalizes it: names and values percent-decoded, {@code +} a plus sign (not
 * a space, as HTML forms would have it). A handler that reads its parameters this way acts on what was signed; one
 * that reads them with another decoder may act on a query the signature does not cover.
 */
public final class SignedQuery {
  private SignedQuery() {}

  /**
   * The parameters by name, in order; a parameter without {@code =} has an empty value.
   *
   * @throws IllegalArgumentException when a name comes twice (the signature covers both values, sorted; which one a
   *     handler would use is not something the client signed)
   */
  public static Map<String, String> parse(String rawQuery) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Canonical.QueryParam p : Canonical.parseQuery(rawQuery)) {
      if (out.put(Canonical.decode(p.rawKey()), Canonical.decode(p.rawValue())) != null) {
        throw new IllegalArgumentException("the parameter " + Canonical.decode(p.rawKey()) + " is given twice");
      }
    }
    return out;
  }
}
