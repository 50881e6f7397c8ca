package io.mailgate.send.dkim;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Clock;

/**
 * Not a test: single-thread signing throughput of the active provider. Prints raw RSA-2048 (and Ed25519)
 * signatures per second and full DKIM signs per second on a 2 KB message.
 *
 * <pre>java -cp target/classes:$(deps) io.mailgate.send.dkim.SignBenchmark [accp|jdk] [seconds]</pre>
 */
public final class SignBenchmark {

  private SignBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("jdk")) CryptoProvider.keepJdk();
    else CryptoProvider.install();
    double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
    System.out.println("provider: " + CryptoProvider.description());
    System.out.println("java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
        + ", cpus: " + Runtime.getRuntime().availableProcessors());

    byte[] message = twoKilobyteMessage();
    KeyPair rsa = DkimKeys.generate(DkimKeyType.RSA_2048);
    KeyPair ed = DkimKeys.generate(DkimKeyType.ED25519);
    DkimKey rsaKey = DkimKey.of("example.com", "mg1", rsa.getPrivate());
    DkimKey edKey = DkimKey.of("example.com", "mg2", ed.getPrivate());
    DkimSigner signer = new DkimSigner(Clock.systemUTC());

    byte[] data = new byte[700]; // about the size of the signed header data
    for (int round = 0; round < 2; round++) { // the first round is warm-up
      boolean print = round == 1;
      Signature rawRsa = Signature.getInstance("SHA256withRSA");
      rawRsa.initSign(rsaKey.privateKey());
      report(print, "raw RSA-2048 SHA256withRSA", seconds, () -> {
        rawRsa.update(data);
        return rawRsa.sign().length;
      });
      Signature rawEd = Signature.getInstance("Ed25519");
      rawEd.initSign(edKey.privateKey());
      report(print, "raw Ed25519", seconds, () -> {
        rawEd.update(data, 0, 32);
        return rawEd.sign().length;
      });
      report(print, "DKIM rsa-sha256, 2 KB message", seconds, () -> signer.signatureHeader(message, rsaKey).length());
      report(print, "DKIM ed25519-sha256, 2 KB message", seconds,
          () -> signer.signatureHeader(message, edKey).length());
    }
    System.out.println("message: " + message.length + " bytes; example header:");
    System.out.print(signer.signatureHeader(message, rsaKey));
  }

  private interface Op {
    int run() throws Exception;
  }

  private static void report(boolean print, String what, double seconds, Op op) throws Exception {
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    long start = System.nanoTime();
    long count = 0;
    long sink = 0;
    while (true) {
      for (int i = 0; i < 16; i++) sink += op.run();
      count += 16;
      if (System.nanoTime() >= deadline) break;
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    if (print) {
      System.out.printf("%-36s %10.0f /s  %8.1f us/op  (%d)%n", what, count / elapsed, elapsed * 1e6 / count,
          sink & 1);
    }
  }

  private static byte[] twoKilobyteMessage() {
    StringBuilder sb = new StringBuilder(2100);
    sb.append("From: Example Sender <sender@example.com>\r\n")
        .append("To: recipient@example.net\r\n")
        .append("Subject: Your order #123456 has shipped\r\n")
        .append("Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n")
        .append("Message-ID: <0100018e0e2f5b2a-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901-000000@example.com>\r\n")
        .append("MIME-Version: 1.0\r\n")
        .append("Content-Type: text/plain; charset=UTF-8\r\n")
        .append("Content-Transfer-Encoding: 7bit\r\n")
        .append("List-Unsubscribe: <https://example.com/unsubscribe/abcdef>\r\n")
        .append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        .append("\r\n");
    String line = "Thank you for your order. Your package is on its way and should arrive soon.\r\n";
    while (sb.length() + line.length() <= 2048) sb.append(line);
    return sb.toString().getBytes(StandardCharsets.US_ASCII);
  }
}
