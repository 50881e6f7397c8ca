package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;

/**
 * A node told to stop while a send is still arriving finishes it: the client gets its answer (and the message is
 * stored), rather than a reset for a send that may have been committed, which its SDK would retry: a duplicate.
 */
class GracefulShutdownTest {
  @Test
  void aSendUnderWayWhenTheNodeStopsIsAnsweredBeforeItsConnectionCloses() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer()) {
      TestNode node = TestNode.start(relay.url());
      String pg = node.config().get(MailgateConfig.PG_URL);
      byte[] body = new JsonObject()
          .put("FromEmailAddress", "sender@example.com")
          .put("Destination", new JsonObject().put("ToAddresses", new io.vertx.core.json.JsonArray()
              .add("rcpt@example.org")))
          .put("Content", new JsonObject().put("Simple", new JsonObject()
              .put("Subject", new JsonObject().put("Data", "stopping"))
              .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", "x".repeat(4000))))))
          .encode().getBytes(StandardCharsets.UTF_8);
      SignedRequest signed = node.sign("POST", "/v2/email/outbound-emails", body,
          Map.of("Content-Type", "application/json"), TestNode.ACCESS_KEY, TestNode.SECRET);
      StringBuilder head = new StringBuilder("POST /v2/email/outbound-emails HTTP/1.1\r\n");
      signed.request().headers().forEach((name, values) -> values.forEach(v -> head.append(name).append(": ")
          .append(v).append("\r\n")));
      head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
      CompletableFuture<Void> stopped;
      String answer;
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), node.endpoint().getPort())) {
        OutputStream out = socket.getOutputStream();
        out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(body, 0, body.length / 2);
        out.flush();
        Thread.sleep(300);
        stopped = CompletableFuture.runAsync(node::close); // SIGTERM, while the body is half in
        Thread.sleep(1000);
        out.write(body, body.length / 2, body.length - body.length / 2);
        out.flush();
        socket.setSoTimeout(10_000);
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        try {
          while ((n = in.read(buf)) >= 0) { // to the end: the node closes the connection after its answer
            read.write(buf, 0, n);
          }
        } catch (java.net.SocketException e) {
          // a reset: what was read before it is the answer, if any
        }
        answer = read.toString(StandardCharsets.UTF_8);
      }
      stopped.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(answer.startsWith("HTTP/1.1 200"), "answer to a send under way at stop: [" + answer + "]");
      String id = new JsonObject(answer.substring(answer.indexOf("\r\n\r\n") + 4)).getString("MessageId");
      assertEquals(1, Db.count(pg, "SELECT count(*) FROM messages WHERE id = '" + id + "'"));
    }
  }
}
