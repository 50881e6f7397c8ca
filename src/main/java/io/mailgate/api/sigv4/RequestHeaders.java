package io.mailgate.api.sigv4;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Case-insensitive view of a request's headers. Adapt the HTTP server's multimap without copying, e.g.
 * {@code request.headers()::getAll} for Vert.x. Values are expected as the server decoded them: one char per byte
 * (ISO-8859-1), which is what Netty does.
 */
@FunctionalInterface
public interface RequestHeaders {

  /** All values of the header named {@code name} (any case), in order; empty or null when absent. */
  List<String> getAll(String name);

  /** The first value, or null. */
  default String first(String name) {
    List<String> values = getAll(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** A view over a plain map (tests, other servers); names are matched case-insensitively. */
  static RequestHeaders of(Map<String, List<String>> headers) {
    TreeMap<String, List<String>> byName = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((name, values) -> byName.merge(name.toLowerCase(Locale.ROOT), values, (a, b) -> {
      var merged = new java.util.ArrayList<>(a);
      merged.addAll(b);
      return merged;
    }));
    return byName::get;
  }
}
