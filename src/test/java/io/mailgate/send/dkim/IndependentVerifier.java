package io.mailgate.send.dkim;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately different DKIM relaxed/relaxed verifier for tests: String and regex based, written from RFC 6376
 * and RFC 8463, verifying with the JDK's own providers (SunRsaSign, SunEC) whatever provider signed. Used for
 * Ed25519, which jDKIM 0.3 does not know, and as a cross-check for RSA.
 */
final class IndependentVerifier {

  private IndependentVerifier() {}

  /** Verifies the first DKIM-Signature of {@code signed}; returns null when valid, else why not. */
  static String verify(byte[] signed, PublicKey publicKey) throws Exception {
    String msg = new String(signed, StandardCharsets.ISO_8859_1).replaceAll("(?<!\r)\n", "\r\n");
    int split = msg.indexOf("\r\n\r\n");
    String header = split < 0 ? msg + "\r\n" : msg.substring(0, split + 2);
    String body = split < 0 ? "" : msg.substring(split + 4);

    List<String> fields = new ArrayList<>();
    for (String line : header.split("\r\n")) {
      if (!line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t')) {
        fields.set(fields.size() - 1, fields.get(fields.size() - 1) + "\r\n" + line);
      } else if (!line.isEmpty()) {
        fields.add(line);
      }
    }
    String sigField = fields.stream().filter(f -> f.toLowerCase(Locale.ROOT).startsWith("dkim-signature:"))
        .findFirst().orElse(null);
    if (sigField == null) return "no DKIM-Signature";
    Map<String, String> tags = tags(sigField.substring(sigField.indexOf(':') + 1));

    String bodyHash = Base64.getEncoder().encodeToString(sha256(relaxedBody(body)));
    if (!bodyHash.equals(tags.get("bh"))) return "body hash " + bodyHash + " != bh=" + tags.get("bh");

    // Header fields named in h=, each instance taken bottom-up; a name with no instance left contributes nothing.
    StringBuilder data = new StringBuilder();
    Map<String, Integer> used = new HashMap<>();
    for (String name : tags.get("h").split(":")) {
      String lower = name.trim().toLowerCase(Locale.ROOT);
      List<String> instances = fields.stream()
          .filter(f -> f.substring(0, Math.max(0, f.indexOf(':'))).trim().toLowerCase(Locale.ROOT).equals(lower))
          .toList();
      int n = used.merge(lower, 1, Integer::sum);
      if (n <= instances.size()) data.append(relaxedHeader(instances.get(instances.size() - n))).append("\r\n");
    }
    String withoutB = sigField.replaceAll("(?s)(^|;)(\\s*b\\s*=)[^;]*", "$1$2");
    data.append(relaxedHeader(withoutB));
    byte[] headerBytes = data.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] b = Base64.getDecoder().decode(tags.get("b"));

    String algorithm = tags.get("a");
    boolean ok;
    if (algorithm.equals("rsa-sha256")) {
      Signature s = Signature.getInstance("SHA256withRSA", "SunRsaSign");
      s.initVerify(publicKey);
      s.update(headerBytes);
      ok = s.verify(b);
    } else if (algorithm.equals("ed25519-sha256")) {
      Signature s = Signature.getInstance("Ed25519", "SunEC");
      s.initVerify(publicKey);
      s.update(sha256(headerBytes));
      ok = s.verify(b);
    } else {
      return "unknown a=" + algorithm;
    }
    return ok ? null : "signature does not verify";
  }

  static Map<String, String> tags(String value) {
    Map<String, String> tags = new LinkedHashMap<>();
    for (String part : value.split(";")) {
      int eq = part.indexOf('=');
      if (eq < 0) continue;
      tags.put(part.substring(0, eq).trim(), part.substring(eq + 1).replaceAll("[ \t\r\n]", ""));
    }
    return tags;
  }

  static byte[] relaxedBody(String body) {
    String[] lines = body.split("\r\n", -1);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < lines.length; i++) {
      if (i == lines.length - 1 && lines[i].isEmpty()) break; // text after the final CRLF
      out.add(lines[i].replaceAll("[ \t]+", " ").replaceAll(" $", ""));
    }
    while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) out.remove(out.size() - 1);
    StringBuilder sb = new StringBuilder();
    for (String line : out) sb.append(line).append("\r\n");
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  static String relaxedHeader(String field) {
    int colon = field.indexOf(':');
    String name = field.substring(0, colon).trim().toLowerCase(Locale.ROOT);
    String value = field.substring(colon + 1).replaceAll("\r\n", "").replaceAll("[ \t]+", " ").trim();
    return name + ":" + value;
  }

  static byte[] sha256(byte[] data) throws Exception {
    return MessageDigest.getInstance("SHA-256", "SUN").digest(data);
  }
}
