package io.mailgate.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.mailgate.configset.ConfigurationSet;
import io.vertx.core.json.JsonArray;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LinkTrackingTest {
  private final TrackingTokens tokens = new TrackingTokens(new byte[32]);
  private final LinkTracking tracking = new LinkTracking(tokens, "http://node.example:8080");

  private static ConfigurationSet set(String domain, String policy, boolean opens, boolean clicks) {
    return new ConfigurationSet("111122223333", "s", null, null, null, true, null, new JsonArray(), domain, policy,
        opens, clicks);
  }

  @Test
  void basesFollowTheSetsDomainAndHttpsPolicy() {
    assertNull(tracking.bases(null));
    assertNull(tracking.bases(set(null, null, false, false)), "no destination wants opens or clicks");
    assertEquals(new LinkTracking.Bases("http://node.example:8080", "http://node.example:8080",
        "http://node.example:8080"), tracking.bases(set(null, null, true, true)));
    assertEquals(new LinkTracking.Bases(null, "https://t.b.example", "https://t.b.example"),
        tracking.bases(set("t.b.example", "REQUIRE", false, true)));
    assertEquals(new LinkTracking.Bases("https://t.b.example", "http://t.b.example", "https://t.b.example"),
        tracking.bases(set("t.b.example", "REQUIRE_OPEN_ONLY", true, true)));
    assertEquals(new LinkTracking.Bases("http://t.b.example", null, null),
        tracking.bases(set("t.b.example", "OPTIONAL", true, false)));
  }

  @Test
  void aRawMessageGetsOnePixelWhateverItsHtmlPartsAndItsLinksInEach() {
    String raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        + "<a href=\"http://x.example/1\">1</a></body>\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        + "<a href=\"http://x.example/2\">2</a></body>\r\n--b--\r\n";
    byte[] in = raw.getBytes(StandardCharsets.US_ASCII);
    String out = new String(tracking.raw(in, "m1", tracking.bases(set(null, null, true, true))),
        StandardCharsets.US_ASCII);
    assertEquals(1, out.split("/t/o/", -1).length - 1, out);
    assertEquals(2, out.split("/t/c/", -1).length - 1, out);
    // a message of no HTML comes back as it was
    byte[] text = "Content-Type: text/plain\r\n\r\nhttp://x.example/\r\n".getBytes(StandardCharsets.US_ASCII);
    assertSame(text, tracking.raw(text, "m2", tracking.bases(set(null, null, true, true))));
  }
}
