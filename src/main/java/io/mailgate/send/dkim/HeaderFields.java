package io.mailgate.send.dkim;

import java.util.Arrays;

/**
 * Where each header field of a message lies, found in one pass over the bytes. A field runs from its name to the
 * line end before the next line that does not start with whitespace (so folded fields are one field). The header
 * ends at the first empty line; without one, the whole message is header and the body is empty.
 */
final class HeaderFields {

  /** Per field: start, colon, end (before the field's final line break). */
  private int[] positions = new int[3 * 32];
  private int count;
  private int bodyStart;

  int count() {
    return count;
  }

  int start(int field) {
    return positions[3 * field];
  }

  int colon(int field) {
    return positions[3 * field + 1];
  }

  int end(int field) {
    return positions[3 * field + 2];
  }

  int bodyStart() {
    return bodyStart;
  }

  /** Parses {@code m[0, len)}; reusable. Lines without a colon are not fields and are skipped. */
  HeaderFields parse(byte[] m, int len) {
    count = 0;
    int pos = 0;
    while (pos < len) {
      byte first = m[pos];
      if (first == '\n') {
        bodyStart = pos + 1;
        return this;
      }
      if (first == '\r' && pos + 1 < len && m[pos + 1] == '\n') {
        bodyStart = pos + 2;
        return this;
      }
      int start = pos;
      int colon = -1;
      int lineEnd;
      boolean firstLine = true;
      while (true) {
        int nl = pos;
        while (nl < len && m[nl] != '\n') {
          if (firstLine && colon < 0 && m[nl] == ':') colon = nl;
          nl++;
        }
        lineEnd = nl < len && nl > pos && m[nl - 1] == '\r' ? nl - 1 : nl;
        pos = nl + 1;
        firstLine = false;
        if (pos < len && (m[pos] == ' ' || m[pos] == '\t')) continue; // folded continuation
        break;
      }
      if (colon >= 0) add(start, colon, lineEnd);
    }
    bodyStart = len;
    return this;
  }

  /** True when field {@code field}'s name equals {@code lowerName} (ASCII, case-insensitive, before any WSP). */
  boolean nameEquals(byte[] m, int field, byte[] lowerName) {
    int s = start(field);
    int e = colon(field);
    while (e > s && (m[e - 1] == ' ' || m[e - 1] == '\t')) e--;
    if (e - s != lowerName.length) return false;
    for (int k = 0; k < lowerName.length; k++) {
      byte b = m[s + k];
      if (b >= 'A' && b <= 'Z') b += 32;
      if (b != lowerName[k]) return false;
    }
    return true;
  }

  private void add(int start, int colon, int end) {
    if (3 * count + 3 > positions.length) positions = Arrays.copyOf(positions, positions.length * 2);
    positions[3 * count] = start;
    positions[3 * count + 1] = colon;
    positions[3 * count + 2] = end;
    count++;
  }
}
