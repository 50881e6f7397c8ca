package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * start-dev's contract (DESIGN.md): the mail it sends is captured, listed at {@code GET /_mailgate/captured} and
 * cleared by {@code DELETE}; start-dev may listen beyond its machine, but the mail it captured is for its own machine
 * only.
 */
class DevCaptureTest {
  static HttpResponse<String> captured(HttpClient http, int port, String method) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/_mailgate/captured"))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A request from this machine naming another site as Host (a web page whose name was rebound to 127.0.0.1). */
  static String fromReboundName(int port, String method) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write((method + " /_mailgate/captured HTTP/1.1\r\nHost: rebound.example:" + port
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void sentMailIsListedAndClearedForThisMachine() throws Exception {
    try (TestNode node = TestNode.startCapturing(c -> c);
         SesV2Client ses = node.sesV2()) {
      int port = node.config().get(MailgateConfig.HTTP_PORT);
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> empty = captured(http, port, "GET");
      assertEquals(200, empty.statusCode(), empty.body());
      assertEquals(new JsonArray(), new JsonArray(empty.body()));

      String id = ses.sendEmail(r -> r.fromEmailAddress("dev@example.com")
          .destination(d -> d.toAddresses("someone@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Captured here"))
              .body(b -> b.text(t -> t.data("Nothing left this machine.")))))).messageId();
      JsonArray list = Await.until(() -> {
        try {
          HttpResponse<String> r = captured(http, port, "GET");
          assertEquals(200, r.statusCode(), r.body());
          assertEquals("application/json", r.headers().firstValue("content-type").orElse(null));
          return new JsonArray(r.body());
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, a -> !a.isEmpty(), Duration.ofSeconds(20));
      assertEquals(1, list.size(), list.encode());
      JsonObject mail = list.getJsonObject(0);
      assertEquals("Captured here", mail.getString("Subject"));
      assertEquals(new JsonArray().add("someone@example.org"), mail.getJsonObject("Envelope").getJsonArray("RcptTo"));
      String raw = mail.getString("Raw");
      assertTrue(raw.contains("Nothing left this machine."), raw);
      assertTrue(raw.contains("<" + id + "@"), "the message is the one sent (" + id + "): " + raw);
      assertEquals(raw.getBytes(StandardCharsets.UTF_8).length, mail.getInteger("Size"));

      // another site's page, through a name rebound to 127.0.0.1: refused, and its DELETE clears nothing
      for (String method : new String[] {"GET", "DELETE"}) {
        String answer = fromReboundName(port, method);
        assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
        assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("x-amzn-errortype: accessdeniedexception"),
            answer);
        assertTrue(answer.contains("Captured mail is shown to clients on this machine only"), answer);
        assertTrue(!answer.contains("Captured here"), answer);
      }
      assertEquals(1, new JsonArray(captured(http, port, "GET").body()).size(), "still there");

      HttpResponse<String> cleared = captured(http, port, "DELETE");
      assertEquals(200, cleared.statusCode(), cleared.body());
      assertEquals(new JsonArray(), new JsonArray(cleared.body()));
      assertEquals(new JsonArray(), new JsonArray(captured(http, port, "GET").body()));
    }
  }

  @Test
  void capturedMailIsShownToThisMachineOnly() throws Exception {
    String local = io.mailgate.testing.OwnAddress.get();
    try (TestNode node = TestNode.start("", c -> c.with(MailgateConfig.HTTP_HOST, "0.0.0.0"))) {
      int port = node.config().get(MailgateConfig.HTTP_PORT);
      HttpClient http = HttpClient.newHttpClient();
      for (String method : new String[] {"GET", "DELETE"}) {
        HttpResponse<String> remote = http.send(HttpRequest.newBuilder(URI.create("http://" + local + ":" + port
            + "/_mailgate/captured")).method(method, HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(403, remote.statusCode(), remote.body());
        assertTrue(remote.body().contains("this machine only"), remote.body());
        assertTrue(!remote.body().contains("Exception"), remote.body());
      }
      // from this machine it is answered: this node has no capture sink (its mail goes to a relay), which says so
      HttpResponse<String> here = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/_mailgate/captured")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(404, here.statusCode(), here.body());
      assertTrue(here.body().contains("captures no mail"), here.body());
      // a web page whose name was rebound to 127.0.0.1 connects from this machine, naming its own site as Host
      String answer = fromReboundName(port, "GET");
      assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
    }
  }
}
