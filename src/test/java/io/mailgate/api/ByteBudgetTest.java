package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.ByteBudget;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests refused before they are read. A request body is read whole before its signature can be checked, so the
 * node bounds what it holds of bodies not yet read: claims beyond its budget are answered 503 at once instead of
 * filling the heap, and a claim comes back when its connection goes.
 */
class ByteBudgetTest {
  static RecordingSmtpServer relay;
  static TestNode node;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  /**
   * On a small heap (-Xmx512m: a tenth is 51 MB) the budget still lets the largest send (a 40 MB message, a 56 MB
   * request) in while small requests are in flight: large bodies may take fifteen sixteenths of it.
   */
  @Test
  void theLargestBodyGetsInBesideSmallOnesOnASmallHeap() {
    long largest = 56L * 1024 * 1024;
    ByteBudget budget = new ByteBudget(ApiVerticle.bodyBudget(largest, 51L * 1024 * 1024));
    assertTrue(budget.take(3L * 1024 * 1024 / 4));
    assertTrue(budget.take(3L * 1024 * 1024 / 4));
    assertTrue(budget.take(largest), "held " + budget.held() + " of " + budget.max());
    assertFalse(budget.take(4L * 1024 * 1024), "a second large body waits");
    assertEquals(128L * 1024 * 1024, ApiVerticle.bodyBudget(largest, 128L * 1024 * 1024), "a large heap's budget");
  }

  @Test
  void largeBodiesBeyondTheBudgetAreRefusedBeforeTheyAreRead() throws IOException {
    // 128 MB, or a tenth of the heap: two of these fit, and a third of 15 % more would fit in the whole budget but not
    // in what large bodies may take (fifteen sixteenths of it)
    ByteBudget budget = (ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http").get("bodies");
    long each = budget.max() * 2 / 5;
    long third = budget.max() * 15 / 100;
    assertTrue(third > ByteBudget.SMALL, "a large body: " + third);
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        Socket s = connect();
        headers(s, "/v2/email/outbound-emails", each);
        stalled.add(s); // never sends its body
      }
      // both claims are in before the third comes (otherwise the third could be taken first and the second refused)
      long deadline = System.currentTimeMillis() + 10_000;
      while (budget.held() < 2 * each && System.currentTimeMillis() < deadline) {
        sleep(10);
      }
      assertEquals(2 * each, budget.held());
      String status;
      try (Socket next = connect()) {
        headers(next, "/v2/email/outbound-emails", third);
        status = statusLine(next);
      }
      assertTrue(status.contains(" 503 "), status);
      // small bodies still go: large ones leave them the last sixteenth of the budget
      try (Socket small = connect()) {
        headers(small, "/v2/email/outbound-emails", 2);
        small.getOutputStream().write("{}".getBytes(StandardCharsets.US_ASCII));
        String smallStatus = statusLine(small);
        assertTrue(smallStatus.contains(" 403 "), "read, and its forged signature refused: " + smallStatus);
      }

      // another route takes small bodies only
      Socket other = connect();
      headers(other, "/v2/email/templates", 5L * 1024 * 1024);
      status = statusLine(other);
      assertTrue(status.contains(" 400 "), status);
      other.close();
    } finally {
      for (Socket s : stalled) {
        s.close();
      }
    }
    // the stalled claims came back with their connections: a body of the same size is read (and its forged
    // signature refused)
    for (int attempt = 0; ; attempt++) {
      try (Socket s = connect()) {
        headers(s, "/v2/email/outbound-emails", each);
        String status;
        try {
          byte[] chunk = new byte[1 << 20];
          Arrays.fill(chunk, (byte) ' ');
          OutputStream out = s.getOutputStream();
          for (long sent = 0; sent < each; sent += chunk.length) {
            out.write(chunk);
          }
          out.flush();
          status = statusLine(s);
        } catch (IOException e) {
          status = "closed: " + e;
        }
        if (!status.contains(" 503 ") || attempt == 20) {
          assertEquals(403, Integer.parseInt(status.split(" ")[1]), status);
          break;
        }
      }
      sleep(100); // the node sees the closes a moment later
    }
  }

  /** A path with a malformed escape never reaches a route: it still gets an SES-shaped 400. */
  @Test
  void aMalformedPathIsAnSesShapedBadRequest() throws IOException {
    try (Socket s = connect()) {
      s.getOutputStream().write("GET /v2/email/identities/%ZZ HTTP/1.1\r\nHost: localhost\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
      assertTrue(in.readLine().contains(" 400 "));
      boolean typed = false;
      for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
        typed |= line.equalsIgnoreCase("x-amzn-ErrorType: BadRequestException");
      }
      assertTrue(typed);
    }
  }

  /**
   * A chunked body (its length unknown until it has arrived) is counted as the most its route may carry, and read no
   * further: 4 MB for a template, not the 54 MB a send may be. Before, it was read to the send's limit, all of it
   * before the signature was checked, while the budget counted 4 MB.
   */
  @Test
  void aChunkedBodyIsReadNoFurtherThanItsRouteMayCarry() throws IOException {
    try (Socket s = connect()) {
      s.getOutputStream().write(("POST /v2/email/templates HTTP/1.1\r\nHost: localhost\r\n"
          + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
          + "Authorization: AWS4-HMAC-SHA256 Credential=" + TestNode.ACCESS_KEY + "/20261129/us-east-1/ses/aws4_request, "
          + "SignedHeaders=host, Signature=00\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      long sent = sendChunks(s, 96, true); // 6 MB
      s.setSoTimeout(2000);
      java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n = s.getInputStream().read(buf); n >= 0; n = s.getInputStream().read(buf)) {
          answer.write(buf, 0, n);
        }
      } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
        // the answer has come, the connection is left open (or reset)
      }
      String status = answer.toString(StandardCharsets.ISO_8859_1);
      // refused for its size (SES answers that 400), not read to the end and refused for its forged signature
      assertTrue(status.startsWith("HTTP/1.1 400 ") && status.contains("Request body is larger than"),
          status + " after " + sent + " bytes");
    }
  }

  /**
   * A chunked v1 body that runs past its route's limit is refused and its connection closed, and what it held of
   * the budget is given back: the close once went through the response's own end handler, which replaced the one that
   * releases the budget, so each such request kept its claim (the route's limit) for good.
   */
  @Test
  void aBodyRefusedForRunningPastItsLimitGivesItsClaimBack() throws IOException {
    try (TestNode small = TestNode.start("", c -> c.with(io.mailgate.config.MailgateConfig.SEND_MAX_MESSAGE_BYTES,
        100_000))) {
      ByteBudget budget = (ByteBudget) small.vertx().sharedData().getLocalMap("mailgate.http").get("bodies");
      for (int round = 0; round < 2; round++) {
        try (Socket s = new Socket(small.endpoint().getHost(), small.endpoint().getPort())) {
          s.setSoTimeout(10_000);
          s.getOutputStream().write(("POST / HTTP/1.1\r\nHost: localhost\r\n"
              + "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
              + "Authorization: AWS4-HMAC-SHA256 Credential=" + TestNode.ACCESS_KEY + "/20261129/us-east-1/ses/"
              + "aws4_request, SignedHeaders=host, Signature=00\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          sendChunks(s, 32, false); // 2 MB: past the 1.15 MB a v1 body may be with 100 KB messages
          String status = statusLine(s);
          // SES's answer to a body over the limit is a 400 (the previous test)
          assertTrue(status.startsWith("HTTP/1.1 400 ") || status.equals("closed"), status);
        }
        io.mailgate.testing.Await.until(budget::held, held -> held == 0, java.time.Duration.ofSeconds(5));
      }
    }
  }

  /**
   * A large body is admitted only for an access key that exists: requests with made-up Authorization headers are
   * refused before their body is counted, so they cannot hold the budget the node's large sends share.
   */
  @Test
  void aLargeBodyOfAnUnknownKeyIsRefusedBeforeItIsCounted() throws IOException {
    ByteBudget budget = (ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http").get("bodies");
    long heldBefore = budget.held();
    try (Socket s = connect()) {
      s.getOutputStream().write(("POST /v2/email/outbound-emails HTTP/1.1\r\nHost: localhost\r\n"
          + "Content-Type: application/json\r\n"
          + "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFORGEDFORGED0000/20261129/us-east-1/ses/aws4_request, "
          + "SignedHeaders=host, Signature=00\r\nContent-Length: " + 8 * ByteBudget.SMALL + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String status = statusLine(s);
      assertTrue(status.startsWith("HTTP/1.1 403 "), status);
      assertEquals(heldBefore, budget.held(), "nothing counted for it");
    }
    try (Socket s = connect()) {
      s.getOutputStream().write(("POST / HTTP/1.1\r\nHost: localhost\r\n"
          + "Content-Type: application/x-www-form-urlencoded\r\n"
          + "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFORGEDFORGED0001/20261129/us-east-1/ses/aws4_request, "
          + "SignedHeaders=host, Signature=00\r\nContent-Length: " + 8 * ByteBudget.SMALL + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String status = statusLine(s);
      assertTrue(status.startsWith("HTTP/1.1 403 "), "v1 too: " + status);
      assertEquals(heldBefore, budget.held());
    }
    // a body of an ordinary size for a large send, claimed by made-up headers: not counted either (a hundred such
    // connections, each idle, would hold what every send on the node shares)
    try (Socket s = connect()) {
      s.getOutputStream().write(("POST /v2/email/outbound-emails HTTP/1.1\r\nHost: localhost\r\n"
          + "Content-Type: application/json\r\n"
          + "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFORGEDFORGED0002/20261129/us-east-1/ses/aws4_request, "
          + "SignedHeaders=host, Signature=00\r\nContent-Length: " + (ApiVerticle.UNCHECKED_BODY + 1) + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String status = statusLine(s);
      assertTrue(status.startsWith("HTTP/1.1 403 "), status);
      assertEquals(heldBefore, budget.held());
    }
  }

  /**
   * Writes {@code count} chunks of 64 KB of a chunked body (and its last chunk when {@code end}); the bytes sent. A node
   * that stops reading and closes ends it early: what follows is its answer.
   */
  private static long sendChunks(Socket s, int count, boolean end) throws IOException {
    byte[] chunk = new byte[64 * 1024];
    java.util.Arrays.fill(chunk, (byte) 'x');
    byte[] head = (Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    long sent = 0;
    try {
      for (int i = 0; i < count; i++) {
        s.getOutputStream().write(head);
        s.getOutputStream().write(chunk);
        s.getOutputStream().write("\r\n".getBytes(StandardCharsets.US_ASCII));
        sent += chunk.length;
      }
      if (end) {
        s.getOutputStream().write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      s.getOutputStream().flush();
    } catch (java.net.SocketException e) {
      // the node stopped reading and closed
    }
    return sent;
  }

  private static Socket connect() throws IOException {
    Socket s = new Socket(node.endpoint().getHost(), node.endpoint().getPort());
    s.setSoTimeout(10_000);
    return s;
  }

  private static void headers(Socket s, String path, long length) throws IOException {
    s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Authorization: AWS4-HMAC-SHA256 Credential=" + TestNode.ACCESS_KEY + "/20261129/us-east-1/ses/aws4_request, "
        + "SignedHeaders=host, Signature=00\r\nContent-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
  }

  private static String statusLine(Socket s) throws IOException {
    String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
    return line == null ? "closed" : line;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
