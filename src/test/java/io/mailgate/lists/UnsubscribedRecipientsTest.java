package io.mailgate.lists;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Delivery's question of a list-managed message: who must not get it, asked of PostgreSQL. */
class UnsubscribedRecipientsTest {

  @Test
  void aTopicRemovedSinceTheMessageLetsInOnlyThoseWhoChoseIt() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 1);
      Db.execute(url, "INSERT INTO contact_lists (account_id, name, topics) VALUES ('acct', 'news', '[{\"TopicName\": "
          + "\"weekly\", \"DefaultSubscriptionStatus\": \"OPT_IN\"}, {\"TopicName\": \"promo\", "
          + "\"DefaultSubscriptionStatus\": \"OPT_OUT\"}]')");
      for (String[] c : new String[][] {{"chose-in@example.org", "{\"gone\": \"OPT_IN\"}"},
          {"chose-out@example.org", "{\"gone\": \"OPT_OUT\"}"}, {"silent@example.org", "{}"}}) {
        Db.execute(url, "INSERT INTO contacts (account_id, list_name, email, address, topic_preferences) "
            + "VALUES ('acct', 'news', '" + c[0] + "', '" + c[0] + "', '" + c[1] + "'::jsonb)");
      }
      UnsubscribedRecipients check = new UnsubscribedRecipients(vertx, pool, 2, 0);
      List<String> all = List.of("chose-in@example.org", "chose-out@example.org", "silent@example.org",
          "stranger@example.org");
      // the topic the message was sent for is no longer on the list: no default lets anyone in
      assertEquals(Set.of("chose-out@example.org", "silent@example.org"), await(check.check("acct", "news", "gone", all)));
      // topics the list has: their defaults, as before
      assertEquals(Set.of(), await(check.check("acct", "news", "weekly", all)));
      assertEquals(Set.of("silent@example.org", "chose-in@example.org", "chose-out@example.org"),
          await(check.check("acct", "news", "promo", all)), "no choice for promo: its default, OPT_OUT");
      assertEquals(Set.of(), await(check.check("acct", "news", null, all)), "the list as a whole");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static <T> T await(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
