package io.mailgate.loadgen;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;

/**
 * Reads how many messages Postfix's {@code smtp-sink -c} has received. With {@code -c} the sink rewrites a counter
 * line {@code sess=N quit=N mesg=N} followed by CR after every session end, QUIT and end of DATA, unbuffered, so
 * the last complete record at the end of its output file is the current count.
 */
final class SinkCounter {
  private final String path;

  SinkCounter(String path) {
    this.path = path;
  }

  /** The current {@code mesg=} count (0 before the first complete record), or -1 if the file cannot be read. */
  long messages() {
    try (RandomAccessFile f = new RandomAccessFile(path, "r")) {
      long size = f.length();
      int n = (int) Math.min(256, size);
      byte[] tail = new byte[n];
      f.seek(size - n);
      f.readFully(tail);
      long count = parse(new String(tail, StandardCharsets.ISO_8859_1));
      return count < 0 && size < 256 ? 0 : count;
    } catch (IOException e) {
      return -1;
    }
  }

  /** The count in the last CR-terminated record of {@code tail}, or -1. */
  static long parse(String tail) {
    int end = tail.lastIndexOf('\r');
    while (end >= 0) {
      int start = tail.lastIndexOf('\r', end - 1) + 1;
      String record = tail.substring(start, end);
      int m = record.indexOf("mesg=");
      if (m >= 0 && (start > 0 || tail.length() < 256)) { // a record cut by the 256-byte window is not trusted
        try {
          return Long.parseLong(record.substring(m + 5).trim());
        } catch (NumberFormatException e) {
          return -1;
        }
      }
      end = start - 1;
    }
    return -1;
  }
}
