package io.mailgate.tracking;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signed tokens that carry everything an open or click needs, so the tracking endpoints record events and redirect
 * without a database lookup and any node can serve any token. Only the holder of the key can mint one, so the
 * redirect endpoint cannot be used as an open redirect to arbitrary URLs.
 *
 * <p>Layout, then base64url without padding:
 *
 * <pre>
 * version    1 byte   1
 * kind       1 byte   1 open, 2 click (inside the MAC, so an open token is never a click)
 * message id u16 length, UTF-8
 * link       u16 length, UTF-8 (empty for an open)
 * tags       u16 count, then per tag u16 length + UTF-8 name, u16 length + UTF-8 value (none for an open)
 * mac        first 16 bytes of HMAC-SHA256(key, host + NUL + all of the above)
 * </pre>
 *
 * The host the link points at (the node's public host, or a configuration set's custom redirect domain) is in the MAC
 * but not in the token: a token is valid only when fetched under that host, so one tenant cannot serve its links
 * (and their redirects) under another tenant's verified domain.
 * Lengths are big-endian and must account for the payload exactly. A token is accepted only in its canonical
 * encoding, so each payload has one spelling. Thread-safe: each thread keeps its own {@link Mac}, which is cheap on
 * the few long-lived event-loop threads that call this.
 */
public final class TrackingTokens {

  /** Longest token {@link #read} accepts; longer ones are refused before any decoding work. */
  public static final int MAX_TOKEN_LENGTH = 8192;

  private static final String ALGORITHM = "HmacSHA256";
  private static final int MIN_KEY_LENGTH = 32;
  private static final byte VERSION = 1;
  private static final byte OPEN = 1;
  private static final byte CLICK = 2;
  private static final int MAC_LENGTH = 16;
  /** Version, kind, three empty length-prefixed fields. */
  private static final int MIN_PAYLOAD = 2 + 2 + 2 + 2;
  private static final int MAX_FIELD = 0xFFFF;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private final ThreadLocal<Mac> macs;

  /** What a token says. */
  public enum Kind { OPEN, CLICK }

  /**
   * A verified token. For an open, {@code link} is null and {@code linkTags} empty; for a click, {@code linkTags} is
   * shaped as SES's Click event has it ({@code {"name": ["value"]}}), in the order the tags were given.
   */
  public record Token(Kind kind, String messageId, String link, Map<String, List<String>> linkTags) {}

  /**
   * @param key the HMAC-SHA256 key, at least 32 bytes; copied
   * @throws IllegalArgumentException when the key is missing or short
   */
  public TrackingTokens(byte[] key) {
    if (key == null || key.length < MIN_KEY_LENGTH) {
      throw new IllegalArgumentException("tracking key must be at least " + MIN_KEY_LENGTH + " bytes");
    }
    SecretKeySpec spec = new SecretKeySpec(key, ALGORITHM);
    newMac(spec); // fail here, not on an event loop, if the JDK cannot do it
    this.macs = ThreadLocal.withInitial(() -> newMac(spec));
  }

  /** The token of the message's open pixel, served under {@code host}. */
  public String open(String host, String messageId) {
    return require(encode(host, OPEN, Objects.requireNonNull(messageId, "messageId"), "", Map.of()));
  }

  /**
   * The token of one tracked link, served under {@code host}.
   *
   * @param link the URL the redirect goes to, as the author wrote it (character references decoded)
   * @param linkTags the link's tags in the order given (null for none)
   * @throws IllegalArgumentException when the token would be longer than {@link #MAX_TOKEN_LENGTH}
   */
  public String click(String host, String messageId, String link, Map<String, String> linkTags) {
    return require(clickOrNull(host, messageId, link, linkTags));
  }

  /** As {@link #click}, but null instead of a token too long to be read back, so the link stays untracked. */
  String clickOrNull(String host, String messageId, String link, Map<String, String> linkTags) {
    return encode(host, CLICK, Objects.requireNonNull(messageId, "messageId"), Objects.requireNonNull(link, "link"),
        linkTags == null ? Map.of() : linkTags);
  }

  /**
   * The token's content when it is one of ours, unaltered: empty when it is null, empty, too long, not canonical
   * base64url, of another version or kind, malformed, or its MAC does not match. Never throws.
   */
  public Optional<Token> read(String host, String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
      return Optional.empty();
    }
    byte[] bytes;
    try {
      bytes = DECODER.decode(token);
    } catch (IllegalArgumentException notBase64) {
      return Optional.empty();
    }
    // The decoder takes padding and ignores stray low bits of the last character; one spelling per token.
    if (!ENCODER.encodeToString(bytes).equals(token)) {
      return Optional.empty();
    }
    int payload = bytes.length - MAC_LENGTH;
    if (payload < MIN_PAYLOAD) {
      return Optional.empty();
    }
    byte[] expected = mac(host, bytes, payload);
    if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(bytes, payload, bytes.length))) {
      return Optional.empty();
    }
    try {
      return parse(ByteBuffer.wrap(bytes, 0, payload));
    } catch (BufferUnderflowException lengthsDoNotAddUp) {
      return Optional.empty();
    }
  }

  private static Optional<Token> parse(ByteBuffer in) {
    if (in.get() != VERSION) {
      return Optional.empty();
    }
    byte kind = in.get();
    if (kind != OPEN && kind != CLICK) {
      return Optional.empty();
    }
    String messageId = string(in);
    String link = string(in);
    int count = Short.toUnsignedInt(in.getShort());
    Map<String, List<String>> tags = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      String name = string(in);
      String value = string(in);
      tags.computeIfAbsent(name, n -> new ArrayList<>(1)).add(value);
    }
    if (in.hasRemaining()) {
      return Optional.empty();
    }
    if (kind == OPEN) {
      return link.isEmpty() && tags.isEmpty()
          ? Optional.of(new Token(Kind.OPEN, messageId, null, Map.of()))
          : Optional.empty();
    }
    tags.replaceAll((name, values) -> List.copyOf(values));
    return Optional.of(new Token(Kind.CLICK, messageId, link, Collections.unmodifiableMap(tags)));
  }

  private static String string(ByteBuffer in) {
    int length = Short.toUnsignedInt(in.getShort());
    if (length > in.remaining()) {
      throw new BufferUnderflowException();
    }
    String s = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
    in.position(in.position() + length);
    return s;
  }

  /** The token, or null when it would be too long to be read back. */
  private String encode(String host, byte kind, String messageId, String link, Map<String, String> tags) {
    List<byte[]> fields = new ArrayList<>(2 + 2 * tags.size());
    fields.add(utf8(messageId));
    fields.add(utf8(link));
    for (Map.Entry<String, String> tag : tags.entrySet()) {
      fields.add(utf8(Objects.requireNonNull(tag.getKey(), "tag name")));
      fields.add(utf8(Objects.requireNonNull(tag.getValue(), "tag value")));
    }
    long length = 2 + 2 + MAC_LENGTH;
    for (byte[] field : fields) {
      if (field.length > MAX_FIELD) {
        return null;
      }
      length += 2 + field.length;
    }
    if ((length * 4 + 2) / 3 > MAX_TOKEN_LENGTH) {
      return null;
    }
    ByteBuffer out = ByteBuffer.allocate((int) length);
    out.put(VERSION).put(kind);
    put(out, fields.get(0));
    put(out, fields.get(1));
    out.putShort((short) tags.size());
    for (int i = 2; i < fields.size(); i++) {
      put(out, fields.get(i));
    }
    int payload = out.position();
    out.put(mac(host, out.array(), payload));
    return ENCODER.encodeToString(out.array());
  }

  private static void put(ByteBuffer out, byte[] field) {
    out.putShort((short) field.length).put(field);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private byte[] mac(String host, byte[] bytes, int length) {
    Mac mac = macs.get();
    mac.update(utf8(normalHost(host)));
    mac.update((byte) 0);
    mac.update(bytes, 0, length);
    return Arrays.copyOf(mac.doFinal(), MAC_LENGTH);
  }

  /** A host as a link names it and as a request's Host header does: lower case, without IPv6 brackets. */
  public static String normalHost(String host) {
    if (host == null) {
      return "";
    }
    String h = host.toLowerCase(java.util.Locale.ROOT);
    return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
  }

  private static String require(String token) {
    if (token == null) {
      throw new IllegalArgumentException("tracking token would exceed " + MAX_TOKEN_LENGTH + " characters");
    }
    return token;
  }

  private static Mac newMac(SecretKeySpec key) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " unavailable", e);
    }
  }
}
