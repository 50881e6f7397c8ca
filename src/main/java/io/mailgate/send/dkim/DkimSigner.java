package io.mailgate.send.dkim;

import io.mailgate.send.dkim.RelaxedCanonicalizer.Bytes;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.time.Clock;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * Signs RFC 5322 messages with DKIM (RFC 6376; Ed25519 per RFC 8463), relaxed/relaxed, for every message Mailgate
 * accepts, whatever built it.
 *
 * <p>Signed header fields: {@link #SIGNED_FIELDS}, each as many times as present (bottom-up, RFC 6376 section
 * 5.4.2) and once more (oversigned, RFC 6376 sections 5.4.2 and 8.15), absent ones once: no one relaying the message
 * can add a Reply-To, a Cc, a second Subject or Content-Type above the signed ones, without breaking the signature.
 * No {@code l=}: the whole body is signed. Tags: {@code v a c d s t h bh b}.
 *
 * <p>Input is the raw message: CRLF line ends expected, bare LF tolerated (treated as the CRLF it will be on the
 * wire), folded and repeated fields, any header-name case, 8-bit bodies, a missing final CRLF. Thread-safe; the
 * digest, signature engines and buffers are per thread.
 */
public final class DkimSigner {

  /**
   * Header fields signed, in {@code h=} order, each once more than present: the fields a reader sees or replies by,
   * those that say how to read the body, and the one-click unsubscribe pair (a List-Unsubscribe added above would
   * choose where a mailbox provider's unsubscribe button posts). The set rspamd oversigns, less its Resent-* and
   * List-* fields a mailing list may add.
   */
  public static final List<String> SIGNED_FIELDS = List.of("from", "sender", "reply-to", "to", "cc", "subject",
      "date", "message-id", "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding",
      "list-unsubscribe", "list-unsubscribe-post");
  private static final byte[][] SIGNED_NAMES = SIGNED_FIELDS.stream()
      .map(s -> s.getBytes(StandardCharsets.US_ASCII)).toArray(byte[][]::new);

  private static final int MAX_LINE = 76;
  private static final byte[] CRLF = {'\r', '\n'};

  /** Per-thread engines and buffers; JCA objects are not thread-safe and cost microseconds to create. */
  private static final class Engines {
    final MessageDigest sha256;
    final Signature rsa;
    final Signature ed25519;
    final byte[] bodyScratch = new byte[16 * 1024];
    final Bytes headerData = new Bytes(2048);
    final HeaderFields fields = new HeaderFields();
    final int[][] occurrences = new int[SIGNED_NAMES.length][4];
    final int[] counts = new int[SIGNED_NAMES.length];
    // sign() leaves a Signature initialized with its key, so signing again with the same key needs no initSign,
    // which costs a public-key derivation for SunEC's Ed25519 and a key conversion for ACCP.
    PrivateKey rsaKey;
    PrivateKey ed25519Key;

    Engines() {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
        rsa = Signature.getInstance("SHA256withRSA");
        ed25519 = Signature.getInstance("Ed25519");
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("DKIM algorithms unavailable", e);
      }
    }
  }

  private static final ThreadLocal<Engines> ENGINES = ThreadLocal.withInitial(Engines::new);

  private final Clock clock;

  /** A signer whose {@code t=} comes from {@code clock}. Installs ACCP if it is available (see CryptoProvider). */
  public DkimSigner(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    CryptoProvider.active();
  }

  /** The message with its DKIM-Signature field prepended. */
  public byte[] sign(byte[] message, DkimKey key) {
    byte[] header = signatureHeader(message, key).getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[header.length + message.length];
    System.arraycopy(header, 0, out, 0, header.length);
    System.arraycopy(message, 0, out, header.length, message.length);
    return out;
  }

  /**
   * The {@code DKIM-Signature} header field for {@code message}, folded and CRLF-terminated, to be placed before
   * the message's first line. To sign with two keys (RSA and Ed25519), compute both on the original message and
   * prepend both.
   */
  public String signatureHeader(byte[] message, DkimKey key) {
    Engines e = ENGINES.get();
    HeaderFields fields = e.fields.parse(message, message.length);

    // Body hash, one pass over the bytes.
    e.sha256.reset();
    RelaxedCanonicalizer.digestBody(message, fields.bodyStart(), message.length, e.sha256, e.bodyScratch);
    String bodyHash = Base64.getEncoder().encodeToString(e.sha256.digest());

    // Which signed fields occur where, in message order.
    Arrays.fill(e.counts, 0);
    for (int f = 0; f < fields.count(); f++) {
      for (int n = 0; n < SIGNED_NAMES.length; n++) {
        if (fields.nameEquals(message, f, SIGNED_NAMES[n])) {
          if (e.counts[n] == e.occurrences[n].length) {
            e.occurrences[n] = Arrays.copyOf(e.occurrences[n], e.counts[n] * 2);
          }
          e.occurrences[n][e.counts[n]++] = f;
          break;
        }
      }
    }

    // The header data to sign: each listed field bottom-up, then this signature's own field with an empty b=.
    Bytes data = e.headerData;
    data.reset();
    StringBuilder h = new StringBuilder(256);
    h.append("DKIM-Signature: v=1; a=").append(key.algorithm().tag()).append("; c=relaxed/relaxed; d=")
        .append(key.domain()).append(';');
    int lineLength = h.length();
    lineLength = appendTag(h, lineLength, "s=" + key.selector() + ";");
    lineLength = appendTag(h, lineLength, "t=" + clock.instant().getEpochSecond() + ";");
    lineLength = appendTag(h, lineLength, "h=");
    boolean firstName = true;
    for (int n = 0; n < SIGNED_NAMES.length; n++) {
      int listed = e.counts[n] + 1;
      for (int k = 0; k < listed; k++) {
        int occurrence = e.counts[n] - 1 - k; // last instance first; beyond the first, a signed absence
        if (occurrence >= 0) {
          int f = e.occurrences[n][occurrence];
          RelaxedCanonicalizer.appendHeader(data, message, fields.start(f), fields.colon(f), fields.end(f));
          data.write(CRLF, 0, 2);
        }
        String name = SIGNED_FIELDS.get(n);
        if (!firstName) {
          h.append(':');
          lineLength++;
        }
        if (lineLength + name.length() + 1 > MAX_LINE) {
          h.append("\r\n\t");
          lineLength = 1;
        }
        h.append(name);
        lineLength += name.length();
        firstName = false;
      }
    }
    h.append(';');
    lineLength = appendTag(h, lineLength + 1, "bh=" + bodyHash + ";");
    lineLength = appendTag(h, lineLength, "b=");

    byte[] unsigned = h.toString().getBytes(StandardCharsets.US_ASCII);
    RelaxedCanonicalizer.appendHeader(data, unsigned, 0, "DKIM-Signature".length(), unsigned.length);

    byte[] signature = signHeaderData(e, key, data);
    if (data.buf.length > 64 * 1024) e.headerData.buf = new byte[2048]; // do not keep a freak header's buffer
    appendFolded(h, lineLength, Base64.getEncoder().encodeToString(signature));
    return h.append("\r\n").toString();
  }

  private static byte[] signHeaderData(Engines e, DkimKey key, Bytes data) {
    try {
      if (key.algorithm() == DkimAlgorithm.ED25519_SHA256) {
        // RFC 8463: Ed25519 signs the SHA-256 of the header data, not the data itself.
        e.sha256.reset();
        e.sha256.update(data.buf, 0, data.size);
        if (e.ed25519Key != key.privateKey()) {
          e.ed25519Key = null;
          e.ed25519.initSign(key.privateKey());
          e.ed25519Key = key.privateKey();
        }
        e.ed25519.update(e.sha256.digest());
        return e.ed25519.sign();
      }
      if (e.rsaKey != key.privateKey()) {
        e.rsaKey = null;
        e.rsa.initSign(key.privateKey());
        e.rsaKey = key.privateKey();
      }
      e.rsa.update(data.buf, 0, data.size);
      return e.rsa.sign();
    } catch (GeneralSecurityException | RuntimeException ex) {
      e.rsaKey = null; // the engine's state is unknown after a failure
      e.ed25519Key = null;
      throw new IllegalStateException("DKIM signing failed for " + key, ex);
    }
  }

  /** Appends " tag" or a fold and the tag, keeping lines under {@link #MAX_LINE}; returns the new line length. */
  private static int appendTag(StringBuilder h, int lineLength, String tag) {
    if (lineLength + 1 + tag.length() > MAX_LINE) {
      h.append("\r\n\t").append(tag);
      return 1 + tag.length();
    }
    h.append(' ').append(tag);
    return lineLength + 1 + tag.length();
  }

  /** The b= value may hold folding whitespace anywhere: verifiers strip the whole value before hashing. */
  private static void appendFolded(StringBuilder h, int lineLength, String base64) {
    int i = 0;
    int room = Math.max(0, MAX_LINE - lineLength);
    while (i < base64.length()) {
      if (room == 0) {
        h.append("\r\n\t");
        room = MAX_LINE - 1;
      }
      int take = Math.min(room, base64.length() - i);
      h.append(base64, i, i + take);
      i += take;
      room -= take;
    }
  }
}
