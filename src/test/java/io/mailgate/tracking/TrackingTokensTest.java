package io.mailgate.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.tracking.TrackingTokens.Kind;
import io.mailgate.tracking.TrackingTokens.Token;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class TrackingTokensTest {

  private static final byte[] KEY = key(7);
  private static final String MESSAGE_ID = "0100018f3a7c2b1e-6f4c2d1a-9b8e-4c7d-a1b2-c3d4e5f6a7b8-000000";

  private static final String HOST = "t.example.com";
  private final TrackingTokens tokens = new TrackingTokens(KEY);

  private static byte[] key(int seed) {
    byte[] key = new byte[32];
    for (int i = 0; i < key.length; i++) {
      key[i] = (byte) (seed * 31 + i);
    }
    return key;
  }

  @Test
  void clickRoundTripKeepsUnicodeLinkAndTagsInOrder() {
    String link = "https://例え.jp/päth?q=✓&x=1&emoji=\uD83D\uDE00#frag";
    Map<String, String> tags = new LinkedHashMap<>();
    tags.put("zeta", "last-letter");
    tags.put("alpha", "1");
    tags.put("mid_dle", "x-y");

    String token = tokens.click(HOST, MESSAGE_ID, link, tags);

    assertTrue(token.matches("[A-Za-z0-9_-]+"), token);
    Token read = tokens.read(HOST, token).orElseThrow();
    assertEquals(Kind.CLICK, read.kind());
    assertEquals(MESSAGE_ID, read.messageId());
    assertEquals(link, read.link());
    assertEquals(Map.of("zeta", List.of("last-letter"), "alpha", List.of("1"), "mid_dle", List.of("x-y")),
        read.linkTags());
    assertEquals(List.of("zeta", "alpha", "mid_dle"), new ArrayList<>(read.linkTags().keySet()));
  }

  @Test
  void clickWithoutTagsHasEmptyTags() {
    Token read = tokens.read(HOST, tokens.click(HOST, MESSAGE_ID, "http://example.com/", null)).orElseThrow();
    assertEquals(Kind.CLICK, read.kind());
    assertEquals("http://example.com/", read.link());
    assertTrue(read.linkTags().isEmpty());
  }

  @Test
  void openRoundTripIsOpenWithoutLink() {
    String token = tokens.open(HOST, MESSAGE_ID);

    assertTrue(token.matches("[A-Za-z0-9_-]+"), token);
    Token read = tokens.read(HOST, token).orElseThrow();
    assertEquals(Kind.OPEN, read.kind());
    assertEquals(MESSAGE_ID, read.messageId());
    assertNull(read.link());
    assertTrue(read.linkTags().isEmpty());
  }

  @Test
  void kindIsCoveredByTheMac() {
    byte[] open = Base64.getUrlDecoder().decode(tokens.open(HOST, MESSAGE_ID));
    assertEquals(1, open[1]);
    open[1] = 2; // claim to be a click, keeping the open's MAC
    assertEquals(Optional.empty(), tokens.read(HOST, Base64.getUrlEncoder().withoutPadding().encodeToString(open)));
  }

  @Test
  void everySingleCharacterChangeIsRejected() {
    String token = tokens.click(HOST, MESSAGE_ID, "https://example.com/a?b=c", Map.of("k", "v"));
    for (int i = 0; i < token.length(); i++) {
      char replacement = token.charAt(i) == 'A' ? 'B' : 'A';
      String tampered = token.substring(0, i) + replacement + token.substring(i + 1);
      assertEquals(Optional.empty(), tokens.read(HOST, tampered), "changed at " + i);
    }
  }

  @Test
  void flippedPayloadOrMacIsRejected() {
    String token = tokens.click(HOST, MESSAGE_ID, "https://example.com/", Map.of());
    assertEquals(Optional.empty(), tokens.read(HOST, flip(token, 4)), "payload");
    assertEquals(Optional.empty(), tokens.read(HOST, flip(token, token.length() - 5)), "mac");
    assertTrue(tokens.read(HOST, token).isPresent());
  }

  private static String flip(String token, int at) {
    char c = token.charAt(at);
    char other = c == 'x' ? 'y' : 'x';
    return token.substring(0, at) + other + token.substring(at + 1);
  }

  @Test
  void truncatedEmptyGarbageAndNonBase64AreRejected() {
    String token = tokens.click(HOST, MESSAGE_ID, "https://example.com/", Map.of());
    assertEquals(Optional.empty(), tokens.read(HOST, token.substring(0, token.length() - 1)));
    assertEquals(Optional.empty(), tokens.read(HOST, token.substring(0, token.length() - 4)));
    assertEquals(Optional.empty(), tokens.read(HOST, token.substring(0, token.length() / 2)));
    assertEquals(Optional.empty(), tokens.read(HOST, token + "A"));
    assertEquals(Optional.empty(), tokens.read(HOST, ""));
    assertEquals(Optional.empty(), tokens.read(HOST, null));
    assertEquals(Optional.empty(), tokens.read(HOST, "hello"));
    assertEquals(Optional.empty(), tokens.read(HOST, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assertEquals(Optional.empty(), tokens.read(HOST, "not base64 at all!"));
    assertEquals(Optional.empty(), tokens.read(HOST, "%%%%"));
    assertEquals(Optional.empty(), tokens.read(HOST, token.replace('-', '+').replace('_', '/') + "+/"));
    assertEquals(Optional.empty(), tokens.read(HOST, token + "=="));
    assertEquals(Optional.empty(), tokens.read(HOST, "A"));
  }

  @Test
  void onlyTheCanonicalSpellingIsAccepted() {
    String token = "";
    for (int k = 0; token.length() % 4 == 0; k++) {
      token = tokens.click(HOST, MESSAGE_ID, "https://example.com/" + "a".repeat(k), Map.of());
    }
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int last = alphabet.indexOf(token.charAt(token.length() - 1));
    // the lowest bit of a partial last group carries no data: the decoder would give the same bytes
    String strayBits = token.substring(0, token.length() - 1) + alphabet.charAt(last ^ 1);
    assertEquals(Base64.getUrlDecoder().decode(token).length, Base64.getUrlDecoder().decode(strayBits).length);
    String padded = token + "=".repeat(4 - token.length() % 4);

    assertTrue(tokens.read(HOST, token).isPresent());
    assertEquals(Optional.empty(), tokens.read(HOST, strayBits));
    assertEquals(Optional.empty(), tokens.read(HOST, padded));
  }

  @Test
  void tokenOfAnotherKeyIsRejected() {
    TrackingTokens other = new TrackingTokens(key(8));
    assertEquals(Optional.empty(), tokens.read(HOST, other.click(HOST, MESSAGE_ID, "https://example.com/", Map.of())));
    assertEquals(Optional.empty(), tokens.read(HOST, other.open(HOST, MESSAGE_ID)));
  }

  @Test
  void correctlySignedButOverLongTokenIsRejected() {
    String fits = sign(payload(1, 2, MESSAGE_ID, "https://example.com/" + "a".repeat(6000)));
    assertTrue(fits.length() <= TrackingTokens.MAX_TOKEN_LENGTH, "the probe must fit");
    assertTrue(tokens.read(HOST, fits).isPresent(), "this test signs tokens the way the class does");

    String tooLong = sign(payload(1, 2, MESSAGE_ID, "https://example.com/" + "a".repeat(6200)));
    assertTrue(tooLong.length() > TrackingTokens.MAX_TOKEN_LENGTH);
    assertEquals(Optional.empty(), tokens.read(HOST, tooLong));
    assertEquals(Optional.empty(), tokens.read(HOST, "A".repeat(100_000)));
  }

  @Test
  void signedPayloadsWithBadStructureAreRejected() {
    byte[] good = payload(1, 2, MESSAGE_ID, "https://example.com/");
    assertTrue(tokens.read(HOST, sign(good)).isPresent());

    assertEquals(Optional.empty(), tokens.read(HOST, sign(payload(2, 2, MESSAGE_ID, "https://example.com/"))), "version");
    assertEquals(Optional.empty(), tokens.read(HOST, sign(payload(1, 3, MESSAGE_ID, "https://example.com/"))), "kind");
    assertEquals(Optional.empty(), tokens.read(HOST, sign(payload(1, 1, MESSAGE_ID, "https://example.com/"))),
        "open with a link");
    assertEquals(Optional.empty(), tokens.read(HOST, sign(Arrays.copyOf(good, good.length + 1))), "trailing byte");
    assertEquals(Optional.empty(), tokens.read(HOST, sign(Arrays.copyOf(good, good.length - 1))), "short by one");

    byte[] overstated = good.clone();
    overstated[3] += 1; // messageId length one more than there is
    assertEquals(Optional.empty(), tokens.read(HOST, sign(overstated)), "length beyond the payload");

    byte[] manyTags = good.clone();
    manyTags[manyTags.length - 1] = 5; // five tags announced, none present
    assertEquals(Optional.empty(), tokens.read(HOST, sign(manyTags)), "tag count");
    assertEquals(Optional.empty(), tokens.read(HOST, sign(new byte[] {1, 2})), "too short");
    assertEquals(Optional.empty(), tokens.read(HOST, sign(new byte[0])), "nothing");
  }

  @Test
  void linkTooLongForATokenIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> tokens.click(HOST, MESSAGE_ID, "https://example.com/" + "a".repeat(7000), Map.of()));
    assertNull(tokens.clickOrNull(HOST, MESSAGE_ID, "https://example.com/" + "a".repeat(7000), Map.of()));
  }

  @Test
  void shortKeyIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new TrackingTokens(new byte[16]));
    assertThrows(IllegalArgumentException.class, () -> new TrackingTokens(null));
  }

  @Test
  void keyIsCopied() {
    byte[] key = key(9);
    TrackingTokens own = new TrackingTokens(key);
    String token = own.open(HOST, MESSAGE_ID);
    Arrays.fill(key, (byte) 0);
    assertTrue(own.read(HOST, token).isPresent());
  }

  @Test
  void concurrentUseIsSafe() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        results.add(pool.submit(() -> {
          for (int i = 0; i < 2000; i++) {
            String link = "https://example.com/" + thread + "/" + i;
            Token read = tokens.read(HOST, tokens.click(HOST, MESSAGE_ID + i, link, Map.of("t", "" + thread))).orElse(null);
            if (read == null || !read.link().equals(link) || !read.messageId().equals(MESSAGE_ID + i)) {
              return false;
            }
          }
          return true;
        }));
      }
      for (Future<Boolean> result : results) {
        assertTrue(result.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** A click or open payload without tags, laid out as the class documents. */
  private static byte[] payload(int version, int kind, String messageId, String link) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(version);
    out.write(kind);
    field(out, messageId);
    field(out, link);
    out.write(0);
    out.write(0);
    return out.toByteArray();
  }

  private static void field(ByteArrayOutputStream out, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.write(bytes.length >> 8);
    out.write(bytes.length & 0xFF);
    out.writeBytes(bytes);
  }

  private static String sign(byte[] payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
      mac.update(HOST.getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0); // the host is in the MAC, then a NUL
      byte[] tag = Arrays.copyOf(mac.doFinal(payload), 16);
      byte[] token = Arrays.copyOf(payload, payload.length + 16);
      System.arraycopy(tag, 0, token, payload.length, 16);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(token);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aTokenIsValidUnderItsOwnHostOnly() {
    String click = tokens.click(HOST, MESSAGE_ID, "https://example.com/", Map.of());
    assertTrue(tokens.read("T.Example.COM", click).isPresent(), "host names are case-insensitive");
    assertEquals(Optional.empty(), tokens.read("other.example.com", click));
    assertEquals(Optional.empty(), tokens.read("", click));
    String open = tokens.open("[::1]", MESSAGE_ID);
    assertTrue(tokens.read("::1", open).isPresent(), "an IPv6 host with or without brackets");
    assertEquals(Optional.empty(), tokens.read(HOST, open));
  }
}
