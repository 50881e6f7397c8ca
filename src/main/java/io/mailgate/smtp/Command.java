package io.mailgate.smtp;

/**
 * The SMTP verbs this server knows.
 *
 * <p>It exists to recognise a verb straight from the input bytes, case-insensitively and without
 * decoding the line into a string first: four-letter verbs are compared as one packed int.
 */
enum Command {
  HELO,
  EHLO,
  MAIL,
  RCPT,
  DATA,
  RSET,
  NOOP,
  QUIT,
  VRFY,
  EXPN,
  HELP,
  AUTH,
  BDAT,
  STARTTLS;

  private static final int K_HELO = key('H', 'E', 'L', 'O');
  private static final int K_EHLO = key('E', 'H', 'L', 'O');
  private static final int K_MAIL = key('M', 'A', 'I', 'L');
  private static final int K_RCPT = key('R', 'C', 'P', 'T');
  private static final int K_DATA = key('D', 'A', 'T', 'A');
  private static final int K_RSET = key('R', 'S', 'E', 'T');
  private static final int K_NOOP = key('N', 'O', 'O', 'P');
  private static final int K_QUIT = key('Q', 'U', 'I', 'T');
  private static final int K_VRFY = key('V', 'R', 'F', 'Y');
  private static final int K_EXPN = key('E', 'X', 'P', 'N');
  private static final int K_HELP = key('H', 'E', 'L', 'P');
  private static final int K_AUTH = key('A', 'U', 'T', 'H');
  private static final int K_BDAT = key('B', 'D', 'A', 'T');
  private static final byte[] STARTTLS_BYTES = {'S', 'T', 'A', 'R', 'T', 'T', 'L', 'S'};

  /** The verb in {@code line[start, end)}, or {@code null} if it is not one we know. */
  static Command parse(byte[] line, int start, int end) {
    int n = end - start;
    if (n == 4) {
      int k = key(line[start], line[start + 1], line[start + 2], line[start + 3]);
      // an if-chain because the keys are not compile-time constants; 13 int compares at most
      if (k == K_MAIL) return MAIL;
      if (k == K_RCPT) return RCPT;
      if (k == K_DATA) return DATA;
      if (k == K_EHLO) return EHLO;
      if (k == K_QUIT) return QUIT;
      if (k == K_RSET) return RSET;
      if (k == K_NOOP) return NOOP;
      if (k == K_HELO) return HELO;
      if (k == K_AUTH) return AUTH;
      if (k == K_VRFY) return VRFY;
      if (k == K_HELP) return HELP;
      if (k == K_EXPN) return EXPN;
      if (k == K_BDAT) return BDAT;
      return null;
    }
    if (n == STARTTLS_BYTES.length) {
      for (int i = 0; i < n; i++) {
        if (upper(line[start + i]) != STARTTLS_BYTES[i]) {
          return null;
        }
      }
      return STARTTLS;
    }
    return null;
  }

  private static int key(int a, int b, int c, int d) {
    return upper(a) << 24 | upper(b) << 16 | upper(c) << 8 | upper(d);
  }

  /** ASCII upper case for letters; other bytes stay distinct from every letter. */
  private static int upper(int b) {
    b &= 0xFF;
    return b >= 'a' && b <= 'z' ? b - 32 : b;
  }
}
