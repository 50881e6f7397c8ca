package io.mailgate.lists;

import io.mailgate.store.GroupCommit;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The delivery path's question for a message sent with ListManagementOptions: which of its recipients must not get
 * it. Those whose contact on the list has UnsubscribeAll, or is out of the message's topic (its own choice, else the
 * topic's default; a topic removed since the message was accepted has no default to let anyone in, so only a contact
 * who chose it gets it). A recipient who is no contact, or a list deleted since, stops no one. Asked when the message is
 * delivered, beside the suppression lists, and grouped across messages as their questions are.
 */
public final class UnsubscribedRecipients {
  /** These addresses (lower case), for this account's list and topic (null: the list as a whole). */
  private record Question(String accountId, String list, String topic, List<String> emails) {}

  private final Pool pool;
  private final GroupCommit<Question, Set<String>> checks;

  /** @param lingerMillis how long a batch of questions waits for more before it is asked (0: at once) */
  public UnsubscribedRecipients(Vertx vertx, Pool pool, int maxInFlight, int lingerMillis) {
    this.pool = pool;
    this.checks = new GroupCommit<>(vertx, lingerMillis, 200, maxInFlight, this::checkAll);
  }

  /** The addresses among {@code emails} (lower case) that unsubscribed from the list, or from its topic. */
  public Future<Set<String>> check(String accountId, String list, String topic, List<String> emails) {
    return checks.submit(new Question(accountId, list, topic, emails));
  }

  private Future<List<Set<String>>> checkAll(List<Question> questions) {
    List<Integer> asked = new ArrayList<>();
    List<String> accounts = new ArrayList<>();
    List<String> lists = new ArrayList<>();
    List<String> topics = new ArrayList<>();
    List<String> emails = new ArrayList<>();
    for (int i = 0; i < questions.size(); i++) {
      Question q = questions.get(i);
      for (String e : q.emails()) {
        asked.add(i);
        accounts.add(q.accountId());
        lists.add(q.list());
        topics.add(q.topic());
        emails.add(e);
      }
    }
    return pool.preparedQuery("""
            SELECT q.i, q.email
            FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS q(i, acct, list, topic, email)
            JOIN contacts c ON c.account_id = q.acct AND c.list_name = q.list AND c.email = q.email
            JOIN contact_lists l ON l.account_id = c.account_id AND l.name = c.list_name
            WHERE c.unsubscribe_all OR (q.topic IS NOT NULL AND COALESCE(c.topic_preferences ->> q.topic,
              (SELECT t ->> 'DefaultSubscriptionStatus' FROM jsonb_array_elements(l.topics) t
               WHERE t ->> 'TopicName' = q.topic LIMIT 1), 'OPT_OUT') = 'OPT_OUT')""")
        .execute(Tuple.of(asked.toArray(Integer[]::new), accounts.toArray(String[]::new),
            lists.toArray(String[]::new), topics.toArray(String[]::new), emails.toArray(String[]::new)))
        .map(rows -> {
          List<Set<String>> answers = new ArrayList<>(questions.size());
          for (int i = 0; i < questions.size(); i++) {
            answers.add(new HashSet<>());
          }
          for (Row r : rows) {
            answers.get(r.getInteger(0)).add(r.getString(1));
          }
          return answers;
        });
  }
}
