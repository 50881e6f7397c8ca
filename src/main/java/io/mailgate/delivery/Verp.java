package io.mailgate.delivery;

import io.mailgate.identity.SecretBox;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * VERP return paths: the envelope sender's local part names the message and the recipient, with
 * an HMAC so a bounce to a forged address is recognised as forged. 29 bytes (message time and
 * UUID, recipient index, 40-bit MAC) in lower-case base32 keep the local part at 48 characters,
 * within the 64 RFC 5321 allows, and case-insensitive as some MTAs treat local parts.
 */
public final class Verp {
  private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
  private static final int MAC_BYTES = 5;

  /** What a genuine VERP address names. */
  public record Target(String messageId, int recipientIndex) {}

  private final byte[] key;

  public Verp(SecretBox secrets) {
    this.key = secrets.derive("mailgate/verp/v1");
  }

  public String localPart(String messageId, int recipientIndex) {
    ByteBuffer b = ByteBuffer.allocate(24 + MAC_BYTES);
    long millis = Long.parseLong(messageId.substring(4, 16), 16);
    UUID uuid = UUID.fromString(messageId.substring(17, 53));
    b.put((byte) (millis >>> 40)).put((byte) (millis >>> 32)).putInt((int) millis);
    b.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
    b.putShort((short) recipientIndex);
    b.put(mac(Arrays.copyOf(b.array(), 24)));
    return "b" + base32(b.array());
  }

  /** The message and recipient of a VERP local part; empty when it is not ours or was altered. */
  public Optional<Target> parse(String localPart) {
    String s = localPart.toLowerCase(Locale.ROOT);
    if (s.length() != 48 || s.charAt(0) != 'b') {
      return Optional.empty();
    }
    byte[] raw = unbase32(s.substring(1));
    if (raw == null || raw.length < 24 + MAC_BYTES) {
      return Optional.empty();
    }
    byte[] body = Arrays.copyOf(raw, 24);
    if (!SecretBox.equal(mac(body), Arrays.copyOfRange(raw, 24, 24 + MAC_BYTES))) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(body);
    long millis = ((b.get() & 0xffL) << 40) | ((b.get() & 0xffL) << 32) | (b.getInt() & 0xffffffffL);
    UUID uuid = new UUID(b.getLong(), b.getLong());
    int idx = b.getShort() & 0xffff;
    String hex = Long.toHexString(millis);
    String id = "0100" + "0".repeat(12 - hex.length()) + hex + "-" + uuid + "-000000";
    return Optional.of(new Target(id, idx));
  }

  private byte[] mac(byte[] body) {
    return Arrays.copyOf(SecretBox.hmac(key, new String(body, java.nio.charset.StandardCharsets.ISO_8859_1)), MAC_BYTES);
  }

  private static String base32(byte[] data) {
    StringBuilder sb = new StringBuilder((data.length * 8 + 4) / 5);
    int buffer = 0;
    int bits = 0;
    for (byte d : data) {
      buffer = (buffer << 8) | (d & 0xff);
      bits += 8;
      while (bits >= 5) {
        sb.append(ALPHABET.charAt((buffer >>> (bits - 5)) & 31));
        bits -= 5;
      }
    }
    if (bits > 0) {
      sb.append(ALPHABET.charAt((buffer << (5 - bits)) & 31));
    }
    return sb.toString();
  }

  private static byte[] unbase32(String s) {
    byte[] out = new byte[s.length() * 5 / 8];
    int buffer = 0;
    int bits = 0;
    int o = 0;
    for (int i = 0; i < s.length(); i++) {
      int v = ALPHABET.indexOf(s.charAt(i));
      if (v < 0) {
        return null;
      }
      buffer = (buffer << 5) | v;
      bits += 5;
      if (bits >= 8) {
        if (o < out.length) {
          out[o++] = (byte) (buffer >>> (bits - 8));
        }
        bits -= 8;
      }
    }
    return out;
  }
}
