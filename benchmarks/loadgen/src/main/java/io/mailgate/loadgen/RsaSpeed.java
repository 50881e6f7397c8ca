package io.mailgate.loadgen;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * Raw RSA-2048 SHA256withRSA signing rate with the JDK's default provider, on N threads: the ceiling a DKIM signer
 * on the JDK provider can approach. Each signature covers 64 bytes, about what a DKIM signature header hashes.
 */
final class RsaSpeed {
  private RsaSpeed() {}

  static void run(double seconds, int threads) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair pair = g.generateKeyPair();
    byte[] data = new byte[64];
    LongAdder count = new LongAdder();
    long warmupEnd = System.nanoTime() + 1_000_000_000L;
    long end = warmupEnd + (long) (seconds * 1e9);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread w = new Thread(() -> {
        try {
          Signature s = Signature.getInstance("SHA256withRSA");
          s.initSign(pair.getPrivate());
          long now;
          while ((now = System.nanoTime()) < end) {
            s.update(data);
            s.sign();
            if (now >= warmupEnd) {
              count.increment();
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, "rsa-" + t);
      workers.add(w);
      w.start();
    }
    for (Thread w : workers) {
      w.join();
    }
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(pair.getPrivate());
    double perS = count.sum() / seconds;
    System.out.printf(Locale.ROOT, "RSA-2048 SHA256withRSA with %s on %d thread(s): %.0f signatures/s%n",
        s.getProvider().getName(), threads, perS);
    System.out.printf(Locale.ROOT, "result mode=rsa provider=%s threads=%d sign_per_s=%.0f%n",
        s.getProvider().getName(), threads, perS);
  }
}
