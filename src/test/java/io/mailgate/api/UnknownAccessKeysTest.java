package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;

/**
 * Requests signed with access keys that do not exist each cost a lookup on the database the sends share: a client
 * address that named {@link LoginFailures#MAX_FAILURES} of them in the window is refused further lookups (429
 * TooManyRequestsException, v1 Throttling) until the window ends, over the API, the console and SMTP alike, while the
 * keys the node knows are still checked. The node trusts loopback as a proxy here, so that X-Forwarded-For names the
 * client address each request comes from.
 */
class UnknownAccessKeysTest {
  private static final String GUESSER = "203.0.113.9";

  private static TestNode start(RecordingSmtpServer relay) {
    return TestNode.start(relay.url(), c -> c.with(MailgateConfig.HTTP_TRUSTED_PROXIES, "127.0.0.1,::1")
        .with(MailgateConfig.CACHE_TTL_MILLIS, 300));
  }

  private static HttpResponse<String> account(TestNode node, String from, String key, String secret) {
    return node.signed("GET", "/v2/email/account", null, Map.of("X-Forwarded-For", from), key, secret);
  }

  @Test
  void anAddressThatNamedTooManyUnknownKeysIsRefusedFurtherLookups() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer(); TestNode node = start(relay)) {
      for (int i = 0; i < LoginFailures.MAX_FAILURES; i++) {
        HttpResponse<String> r = account(node, GUESSER, "AKIAGUESS" + i, "wrong");
        assertEquals(403, r.statusCode(), r.body());
        assertEquals("UnrecognizedClientException", r.headers().firstValue("x-amzn-ErrorType").orElse(""));
      }
      HttpResponse<String> refused = account(node, GUESSER, "AKIAGUESSMORE", "wrong");
      assertEquals(429, refused.statusCode(), refused.body());
      assertEquals("TooManyRequestsException", refused.headers().firstValue("x-amzn-ErrorType").orElse(""));
      assertTrue(refused.body().contains("unknown access keys"), refused.body());
      // the Query API words it as SES v1 words throttling
      byte[] form = "Action=GetSendQuota&Version=2010-12-01".getBytes(StandardCharsets.UTF_8);
      HttpResponse<String> v1 = node.signed("POST", "/", new String(form, StandardCharsets.UTF_8),
          Map.of("Content-Type", "application/x-www-form-urlencoded", "X-Forwarded-For", GUESSER),
          "AKIAGUESSV1", "wrong");
      assertEquals(400, v1.statusCode(), v1.body()); // as SES v1 answers Throttling
      assertTrue(v1.body().contains("<Code>Throttling</Code>"), v1.body());
      // another address is not held to it
      assertEquals(403, account(node, "203.0.113.10", "AKIAGUESSMORE", "wrong").statusCode());
      // the node's own key, not yet looked up, would cost a query: refused as well from there
      assertEquals(429, account(node, GUESSER, TestNode.ACCESS_KEY, TestNode.SECRET).statusCode());
      // once the node knows it (a request from elsewhere), it is checked from there too: a NAT's other applications
      // keep working
      assertEquals(200, account(node, "203.0.113.10", TestNode.ACCESS_KEY, TestNode.SECRET).statusCode());
      assertEquals(200, account(node, GUESSER, TestNode.ACCESS_KEY, TestNode.SECRET).statusCode());
      Thread.sleep(600); // past the event loops' key caches (300 ms here): known to the node all the same
      assertEquals(200, account(node, GUESSER, TestNode.ACCESS_KEY, TestNode.SECRET).statusCode());
      HttpResponse<String> wrong = account(node, GUESSER, TestNode.ACCESS_KEY, "wrong");
      assertEquals("SignatureDoesNotMatch", wrong.headers().firstValue("x-amzn-ErrorType").orElse(""), wrong.body());
      // the console counts with the API: its lookups are refused from the address as well
      HttpResponse<String> console = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              node.endpoint().resolve("/_mailgate/console"))
          .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
              "AKIAGUESSCONSOLE:wrong".getBytes(StandardCharsets.UTF_8)))
          .header("X-Forwarded-For", GUESSER).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(429, console.statusCode(), console.body());
    }
  }

  /**
   * Guesses that arrive together see each other: of 30 sent at once from one address, exactly the limit are looked up
   * (403), however the event loops interleave them; the rest are refused (429).
   */
  @Test
  void guessesMadeAtOnceAreCountedAtOnce() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer(); TestNode node = start(relay)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        SignedRequest s = node.sign("GET", "/v2/email/account", new byte[0], Map.of("X-Forwarded-For", GUESSER),
            "AKIAATONCE" + i, "wrong");
        HttpRequest.Builder b = HttpRequest.newBuilder(s.request().getUri()).GET();
        s.request().headers().forEach((name, values) -> {
          if (!name.equalsIgnoreCase("host")) {
            values.forEach(v -> b.header(name, v));
          }
        });
        sent.add(http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()));
      }
      int checked = 0;
      int refused = 0;
      for (CompletableFuture<HttpResponse<String>> f : sent) {
        int status = f.get().statusCode();
        if (status == 403) {
          checked++;
        } else if (status == 429) {
          refused++;
        }
      }
      assertEquals(LoginFailures.MAX_FAILURES, checked, "looked up");
      assertEquals(30 - LoginFailures.MAX_FAILURES, refused, "refused");
    }
  }
}
