package io.mailgate.smtp;

import java.util.Arrays;

/**
 * Reads the content of one DATA command as it arrives, in chunks of any size.
 *
 * <p>It exists to keep the hot loop of the server in one small place: it finds the end of data,
 * undoes dot-stuffing (RFC 5321 section 4.5.2), turns bare LF line endings into CRLF, and stops
 * storing once the size limit is passed while still reading on to the end, so an oversized
 * message costs no memory beyond the limit. Runs of ordinary bytes are copied in bulk; only line
 * ends and leading dots go through the state machine.
 *
 * <p>Only {@code CRLF . CRLF} ends the data. A dot line after a bare LF, or a dot followed by a
 * bare LF, is content: accepting those as the end is what makes SMTP smuggling possible.
 */
final class DataReader {

  private static final int IN_LINE = 0;
  private static final int AFTER_CR = 1;
  private static final int LINE_START = 2; // after CRLF: a dot here may start the terminator
  private static final int LINE_START_AFTER_BARE_LF = 3; // a dot here is only stuffing
  private static final int DOT = 4; // a dot at LINE_START, not stored
  private static final int DOT_CR = 5; // dot and CR at LINE_START

  private static final int INITIAL_CAPACITY = 8 * 1024;
  /** Kept between the messages of a session (and counted against the budget while kept): small ones need no new buffer. */
  static final int RETAINED_CAPACITY = 16 * 1024;
  static final int MAX_PREALLOCATION = 256 * 1024;

  /**
   * Bytes of buffered content that the connections of one address may hold together: a client that may send DATA
   * (on an inbound port, anyone) cannot make the node hold a full message per connection.
   */
  interface Budget {
    Budget UNLIMITED = new Budget() {
      @Override
      public boolean take(long bytes) {
        return true;
      }

      @Override
      public void give(long bytes) {}
    };

    /** Takes {@code bytes} if that many are left. */
    boolean take(long bytes);

    void give(long bytes);
  }

  private final long maxSize;
  private final int maxLineLength;
  private final Budget budget;

  private byte[] buffer = new byte[0];
  private int length;
  private long size;
  private int lineLength;
  private int state;
  private boolean oversized;
  private boolean overBudget;
  private boolean longLines;
  private boolean bareLineFeeds;

  DataReader(long maxSize, int maxLineLength) {
    this(maxSize, maxLineLength, Budget.UNLIMITED);
  }

  DataReader(long maxSize, int maxLineLength, Budget budget) {
    this.maxSize = maxSize;
    this.maxLineLength = maxLineLength;
    this.budget = budget;
  }

  /** Prepares for a new message; {@code sizeHint} is the declared SIZE or -1. */
  void start(long sizeHint) {
    length = 0;
    size = 0;
    lineLength = 0;
    state = LINE_START;
    oversized = false;
    overBudget = false;
    longLines = false;
    bareLineFeeds = false;
    if (sizeHint > buffer.length && sizeHint <= maxSize) {
      // trust the declared SIZE only so far: a client could declare the maximum and send nothing
      int preallocated = (int) Math.min(sizeHint + 2, MAX_PREALLOCATION);
      if (budget.take(preallocated - buffer.length)) {
        buffer = new byte[preallocated];
      }
    }
  }

  /**
   * Consumes {@code in[pos, end)}.
   *
   * @return the index just after the terminating {@code CRLF.CRLF}, or -1 if all input was
   *     consumed without reaching it
   */
  int consume(byte[] in, int pos, int end) {
    int s = state;
    int i = pos;
    while (i < end) {
      switch (s) {
        case IN_LINE -> {
          int run = i;
          byte b = 0;
          while (i < end && (b = in[i]) != '\r' && b != '\n') {
            i++;
          }
          append(in, run, i - run);
          if (i < end) {
            if (b == '\r') {
              s = AFTER_CR;
            } else {
              bareLineFeeds = true;
              endLine();
              s = LINE_START_AFTER_BARE_LF;
            }
            i++;
          }
        }
        case AFTER_CR -> {
          byte b = in[i];
          if (b == '\n') {
            endLine();
            s = LINE_START;
            i++;
          } else {
            appendByte((byte) '\r');
            if (b == '\r') {
              i++;
            } else {
              s = IN_LINE;
            }
          }
        }
        case LINE_START -> {
          if (in[i] == '.') {
            s = DOT;
            i++;
          } else {
            s = IN_LINE;
          }
        }
        case LINE_START_AFTER_BARE_LF -> {
          if (in[i] == '.') {
            i++; // stuffing, but never the terminator
          }
          s = IN_LINE;
        }
        case DOT -> {
          if (in[i] == '\r') {
            s = DOT_CR;
            i++;
          } else {
            s = IN_LINE; // the dot was stuffing: drop it, read the rest of the line
          }
        }
        case DOT_CR -> {
          if (in[i] == '\n') {
            state = LINE_START;
            return i + 1;
          }
          s = AFTER_CR; // ".\rX": the dot was stuffing, the CR is content
        }
        default -> throw new IllegalStateException("DATA state " + s);
      }
    }
    state = s;
    return -1;
  }

  /** Whether the content exceeded the size limit; nothing past the limit was stored. */
  boolean oversized() {
    return oversized;
  }

  /** Whether the content was dropped because the address's connections held too much content at once. */
  boolean overBudget() {
    return overBudget;
  }

  boolean longLines() {
    return longLines;
  }

  boolean bareLineFeeds() {
    return bareLineFeeds;
  }

  /**
   * The content read, and how much of the budget it still holds: the caller gives that back (with
   * {@link Budget#give}) once the message is handled, so that messages waiting on a slow handler count as much as
   * messages being received. The reader is ready for {@link #start} again afterwards.
   */
  Taken takeMessage() {
    byte[] message = Arrays.copyOf(buffer, length);
    length = 0;
    if (buffer.length <= RETAINED_CAPACITY) {
      return new Taken(message, 0); // the buffer stays, counted; the copy is small
    }
    budget.give(buffer.length - message.length); // the buffer goes, the copy keeps its share
    buffer = new byte[0];
    return new Taken(message, message.length);
  }

  /** A message taken from the reader, and the budget it holds until it is handled. */
  record Taken(byte[] message, long held) {}

  /** Forgets the content; keeps a small buffer for the next message of the session. */
  void release() {
    length = 0;
    if (buffer.length > RETAINED_CAPACITY) {
      drop();
    }
  }

  /** Forgets the content and the buffer: the session is over. */
  void dispose() {
    length = 0;
    drop();
  }

  private void drop() {
    budget.give(buffer.length);
    buffer = new byte[0];
  }

  private void endLine() {
    if (lineLength > maxLineLength) {
      longLines = true;
    }
    lineLength = 0;
    if (size + 2 > maxSize) {
      oversize();
      size += 2;
      return;
    }
    size += 2;
    if (ensureCapacity(2)) {
      buffer[length++] = '\r';
      buffer[length++] = '\n';
    }
  }

  private void appendByte(byte b) {
    lineLength++;
    if (++size > maxSize) {
      oversize();
      return;
    }
    if (ensureCapacity(1)) {
      buffer[length++] = b;
    }
  }

  private void append(byte[] in, int from, int count) {
    if (count == 0) {
      return;
    }
    lineLength += count;
    size += count;
    if (size > maxSize) {
      oversize();
      return;
    }
    if (ensureCapacity(count)) {
      System.arraycopy(in, from, buffer, length, count);
      length += count;
    }
  }

  private void oversize() {
    if (!oversized) {
      oversized = true;
      length = 0;
      drop(); // the excess is never stored; free what was
    }
  }

  /** Room for {@code extra} more bytes, or false (nothing more is stored) when the budget has none to give. */
  private boolean ensureCapacity(int extra) {
    if (overBudget) {
      return false;
    }
    int needed = length + extra;
    if (needed > buffer.length) {
      long grown = Math.max((long) buffer.length * 2, INITIAL_CAPACITY);
      grown = Math.min(Math.max(grown, needed), maxSize + 2);
      int capacity = (int) Math.max(grown, needed);
      if (!budget.take(capacity - buffer.length)) {
        overBudget = true;
        length = 0;
        drop();
        return false;
      }
      buffer = Arrays.copyOf(buffer, capacity);
    }
    return true;
  }
}
