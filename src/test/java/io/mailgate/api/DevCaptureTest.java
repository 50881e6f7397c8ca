package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.TestNode;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Collections;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** start-dev may listen beyond its machine; the mail it captured is for its own machine only. */
class DevCaptureTest {
  @Test
  void capturedMailIsShownToThisMachineOnly() throws Exception {
    String local = null;
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (nic.isUp() && a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
          local = a.getHostAddress();
        }
      }
    }
    Assumptions.assumeTrue(local != null, "no address but loopback to connect from");
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
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET /_mailgate/captured HTTP/1.1\r\nHost: rebound.example:" + port
            + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
      }
    }
  }
}
