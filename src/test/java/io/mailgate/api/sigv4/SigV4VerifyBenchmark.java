package io.mailgate.api.sigv4;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.security.MessageDigest;
import software.amazon.awssdk.regions.Region;

/**
 * Not a test: prints the cost of {@link SigV4Verifier#verify} on an SDK-signed SendEmail next to the bare crypto it
 * cannot avoid (SHA-256 of body and canonical request, one HMAC). Run with the test classpath:
 * {@code java -cp target/test-classes:target/classes:<deps> io.mailgate.api.sigv4.SigV4VerifyBenchmark [accp]}.
 */
public final class SigV4VerifyBenchmark {

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("accp")) io.mailgate.send.dkim.CryptoProvider.install();
    SdkRequests.Captured c = SdkRequests.sesV2(Region.US_EAST_1, client -> client.sendEmail(r -> r
        .fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("a@example.net"))
        .content(ct -> ct.simple(m -> m.subject(s -> s.data("Hello"))
            .body(b -> b.text(t -> t.data("x".repeat(1000))))))));
    SigV4Request request = c.toSigV4();
    Instant at = Instant.ofEpochSecond(SigV4Verifier.parseBasicIso(c.header("X-Amz-Date")));
    SigV4Verifier verifier = new SigV4Verifier(id -> Optional.of(SdkRequests.SECRET), Clock.fixed(at,
        ZoneOffset.UTC));
    if (!verifier.verify(request).verified()) throw new AssertionError("does not verify");

    byte[] body = request.body();
    byte[] canonical = new byte[600];
    Mac mac = Mac.getInstance("HmacSHA256");
    SecretKeySpec key = new SecretKeySpec(new byte[32], "HmacSHA256");
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    System.out.printf("body %d bytes, provider %s%n", body.length, mac.getProvider().getName());
    for (int round = 0; round < 5; round++) {
      int n = 200_000;
      long t0 = System.nanoTime();
      int ok = 0;
      for (int i = 0; i < n; i++) ok += verifier.verify(request).verified() ? 1 : 0;
      long t1 = System.nanoTime();
      long sink = 0;
      for (int i = 0; i < n; i++) {
        sink += sha.digest(body)[0];
        sink += sha.digest(canonical)[0];
        mac.init(key);
        mac.update(canonical, 0, 200);
        sink += mac.doFinal()[0];
      }
      long t2 = System.nanoTime();
      System.out.printf("verify %.2f us/op (%d ok); bare SHA-256 x2 + HMAC %.2f us/op (%d)%n",
          (t1 - t0) / 1e3 / n, ok, (t2 - t1) / 1e3 / n, sink & 1);
    }
  }
}
