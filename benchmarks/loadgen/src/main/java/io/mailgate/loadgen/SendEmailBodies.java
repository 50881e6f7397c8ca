package io.mailgate.loadgen;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * Precomputed SES v2 SendEmail request bodies ({@code Simple} content, a plain-text body of a given size) and
 * their SHA-256, so a request costs no JSON encoding and no body hashing. A few variants (subject and recipient
 * names differ) so the node does not see one identical body all the time; requests cycle through them.
 *
 * <p>The buffers are written again and again; Vert.x writes a {@link Buffer} without consuming it.
 */
final class SendEmailBodies {
  static final int VARIANTS = 16;
  static final String PATH = "/v2/email/outbound-emails";
  static final String CONTENT_TYPE = "application/json";

  /** One request body and the hex SHA-256 that goes into its signature. */
  record Body(Buffer buffer, String sha256Hex, int length) {}

  private final Body[] bodies = new Body[VARIANTS];

  /** @param configurationSet the ConfigurationSetName of every request, or null for none */
  SendEmailBodies(int textBytes, int recipients, String from, String configurationSet) {
    String text = jsonEscapedText(textBytes);
    for (int v = 0; v < VARIANTS; v++) {
      StringBuilder json = new StringBuilder(text.length() + 512);
      json.append("{\"FromEmailAddress\":\"").append(from).append("\",");
      if (configurationSet != null) {
        json.append("\"ConfigurationSetName\":\"").append(configurationSet).append("\",");
      }
      json.append("\"Destination\":{\"ToAddresses\":[");
      for (int r = 0; r < recipients; r++) {
        if (r > 0) {
          json.append(',');
        }
        json.append("\"rcpt").append(v).append('-').append(r).append("@example.org\"");
      }
      json.append("]},\"Content\":{\"Simple\":{")
          .append("\"Subject\":{\"Data\":\"Mailgate benchmark message, variant ").append(v).append("\"},")
          .append("\"Body\":{\"Text\":{\"Data\":\"").append(text).append("\"}}}}}");
      byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
      bodies[v] = new Body(Buffer.buffer(bytes), SigV4Signer.sha256Hex(bytes), bytes.length);
    }
  }

  Body get(long sequence) {
    return bodies[(int) (sequence & (VARIANTS - 1))];
  }

  int length() {
    return bodies[0].length();
  }

  /**
   * A text body of exactly {@code bytes} bytes, already JSON-escaped: lines of at most 76 characters ending in LF,
   * made of pseudo-words drawn with a skewed (Zipf-like) frequency from a 2,048-word vocabulary, so it compresses
   * about as well as ordinary prose (a repeated phrase would let PostgreSQL's TOAST compression look far cheaper than
   * it is for real mail). Deterministic: the same size gives the same text. Plain lines like these are sent 7bit.
   */
  static String jsonEscapedText(int bytes) {
    Random random = new Random(20261128L);
    String[] vocabulary = new String[2048];
    for (int i = 0; i < vocabulary.length; i++) {
      int length = 2 + random.nextInt(4) + random.nextInt(5);
      StringBuilder w = new StringBuilder(length);
      for (int j = 0; j < length; j++) {
        w.append((char) ('a' + random.nextInt(26)));
      }
      vocabulary[i] = w.toString();
    }
    StringBuilder out = new StringBuilder(bytes + bytes / 30);
    int written = 0;
    int line = 0;
    while (written < bytes) {
      String word = vocabulary[(int) (Math.pow(random.nextDouble(), 3) * vocabulary.length)];
      if (random.nextInt(12) == 0) {
        word = word + (random.nextBoolean() ? "." : ",");
      }
      int left = bytes - written;
      if (line > 0 && line + 1 + word.length() > 76 || left == 1) {
        out.append("\\n");
        written++;
        line = 0;
        continue;
      }
      String piece = line == 0 ? word : " " + word;
      if (piece.length() > left - 1) {
        piece = "x".repeat(left - 1); // fill so the body ends with a line break at exactly `bytes`
      }
      out.append(piece);
      written += piece.length();
      line += piece.length();
    }
    return out.toString();
  }
}
