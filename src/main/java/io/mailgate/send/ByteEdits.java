package io.mailgate.send;

import java.util.ArrayList;
import java.util.List;

/**
 * Changes to byte ranges of one array, collected while it is read and applied in one copy: what is not edited keeps
 * its bytes. Edits are added front to back and do not overlap.
 */
public final class ByteEdits {
  /** Bytes [start, end) replaced by {@code bytes} (start == end inserts). */
  private record Edit(int start, int end, byte[] bytes) {}

  private final List<Edit> edits = new ArrayList<>();

  public void replace(int start, int end, byte[] bytes) {
    edits.add(new Edit(start, end, bytes));
  }

  public void insert(int at, byte[] bytes) {
    edits.add(new Edit(at, at, bytes));
  }

  public boolean isEmpty() {
    return edits.isEmpty();
  }

  /** {@code original} with the edits; {@code original} itself when there is none. */
  public byte[] applyTo(byte[] original) {
    if (edits.isEmpty()) {
      return original;
    }
    int size = original.length;
    for (Edit e : edits) {
      size += e.bytes().length - (e.end() - e.start());
    }
    byte[] out = new byte[size];
    int from = 0;
    int j = 0;
    for (Edit e : edits) {
      System.arraycopy(original, from, out, j, e.start() - from);
      j += e.start() - from;
      System.arraycopy(e.bytes(), 0, out, j, e.bytes().length);
      j += e.bytes().length;
      from = e.end();
    }
    System.arraycopy(original, from, out, j, original.length - from);
    return out;
  }
}
