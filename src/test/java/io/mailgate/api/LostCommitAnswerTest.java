package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TcpProxy;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A send whose commit reached PostgreSQL but whose answer was lost on the way back (the connection dropped in
 * between): the node finds out whether it was committed, and answers 200 when it was, rather than a 503 its client
 * would retry into a second copy of a message that is delivered anyway.
 */
class LostCommitAnswerTest {
  static final String SEND = "{\"FromEmailAddress\":\"sender@example.com\",\"Destination\":{\"ToAddresses\":"
      + "[\"rcpt@example.org\"]},\"Content\":{\"Simple\":{\"Subject\":{\"Data\":\"s\"},\"Body\":{\"Text\":"
      + "{\"Data\":\"x\"}}}}}";

  @Test
  void aCommitWhoseAnswerWasLostIsAnswered200() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct); RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), relay.url(), c -> c, true)) {
      Map<String, String> json = Map.of("Content-Type", "application/json");
      assertEquals(200, node.signed("POST", "/v2/email/outbound-emails", SEND, json).statusCode()); // warm caches
      long before = Db.count(direct, "SELECT count(*) FROM messages");
      proxy.loseAnswers(500); // the next statement (the send's commit) is carried out, its answer never comes
      HttpResponse<String> r = node.signed("POST", "/v2/email/outbound-emails", SEND, json);
      long stored = Db.count(direct, "SELECT count(*) FROM messages") - before;
      // the invariant a client relies on: 200 if and only if the message was stored
      assertEquals(r.statusCode() == 200 ? 1 : 0, stored, r.statusCode() + " " + r.body());
      assertEquals(1, stored, "the commit went through: " + r.body());
      assertTrue(Db.count(direct, "SELECT count(*) FROM messages WHERE id = '"
          + new JsonObject(r.body()).getString("MessageId") + "'") == 1);
    }
  }
}
