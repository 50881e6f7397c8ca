package io.mailgate.lists;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** SQL for contact lists and their contacts; every statement is scoped to one account. */
public final class ContactListStore {
  /** SES's quota: one contact list per account. */
  public static final int MAX_LISTS_PER_ACCOUNT = 1;

  /** A ListContacts filter: contacts whose status (for {@code topic} when given) is {@code status} (any when null). */
  public record Filter(SubscriptionStatus status, Topic topic, boolean useDefault) {}

  /** The first key of the advisory locks that put one account's list creations in turn: "CLst". */
  private static final int CREATE_LOCK = 0x434c7374;
  /** The first key of the advisory locks that put one contact's unsubscriptions in turn: "CUns". */
  private static final int UNSUBSCRIBE_LOCK = 0x43556e73;

  private final Pool pool;

  public ContactListStore(Pool pool) {
    this.pool = pool;
  }

  /** Stores a new list: ALREADY_EXISTS when the name is taken, LIMIT_EXCEEDED when the account has its quota. */
  public Future<Void> create(String accountId, ContactList list) {
    // the quota and the insert in one statement; a list of the same name fails on the key first (AlreadyExists).
    // Creations of one account take turns (an advisory lock): two at once would each count the other's as not there
    return Database.inTurn(pool, CREATE_LOCK, accountId, conn -> conn.preparedQuery(
            "INSERT INTO contact_lists (account_id, name, description, topics, tags) "
                + "SELECT $1, $2, $3, $4::jsonb, $6::jsonb WHERE (SELECT count(*) FROM contact_lists "
                + "WHERE account_id = $1 AND name <> $2) < $5")
        .execute(Tuple.from(new Object[] {accountId, list.name(), list.description(), list.topicsJson(),
            MAX_LISTS_PER_ACCOUNT, list.tags()})))
        .recover(e -> Future.failedFuture(isUniqueViolation(e)
            ? new SesException(SesError.ALREADY_EXISTS, "Contact list " + list.name() + " already exists.") : e))
        .compose(r -> r.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED,
                "An account may have at most " + MAX_LISTS_PER_ACCOUNT + " contact list.")));
  }

  public Future<Optional<ContactList>> find(String accountId, String name) {
    return pool.preparedQuery("SELECT name, description, topics, tags, created_at, updated_at FROM contact_lists "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(list(rows.iterator().next())));
  }

  /** Replaces a list's description and topics (not its tags: UpdateContactList has none); whether there was one. */
  public Future<Boolean> update(String accountId, ContactList list) {
    return pool.preparedQuery("UPDATE contact_lists SET description = $3, topics = $4::jsonb, updated_at = now() "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, list.name(), list.description(), list.topicsJson()))
        .map(r -> r.rowCount() == 1);
  }

  /** Deletes a list and (by the foreign key) its contacts; whether there was one. */
  public Future<Boolean> delete(String accountId, String name) {
    return pool.preparedQuery("DELETE FROM contact_lists WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name)).map(r -> r.rowCount() == 1);
  }

  /** Lists after {@code after} (null: from the first), in name order. */
  public Future<List<ContactList>> page(String accountId, String after, int limit) {
    return pool.preparedQuery("SELECT name, description, topics, tags, created_at, updated_at FROM contact_lists "
            + "WHERE account_id = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3")
        .execute(Tuple.of(accountId, after, limit))
        .map(rows -> {
          List<ContactList> out = new ArrayList<>(rows.size());
          rows.forEach(r -> out.add(list(r)));
          return out;
        });
  }

  /**
   * How many contacts each list named has, counted up to {@code cap} (a list of more answers {@code cap}): what the
   * console shows, one statement for the lists of its page, each count reading at most {@code cap} index entries.
   */
  public Future<java.util.Map<String, Long>> counts(String accountId, List<String> names, int cap) {
    return pool.preparedQuery("SELECT n, (SELECT count(*) FROM (SELECT 1 FROM contacts WHERE account_id = $1 "
            + "AND list_name = n LIMIT $3) c) FROM unnest($2::text[]) n")
        .execute(Tuple.tuple().addValue(accountId).addValue(names.toArray(new String[0])).addValue(cap))
        .map(rows -> {
          java.util.Map<String, Long> counts = new java.util.HashMap<>();
          rows.forEach(r -> counts.put(r.getString(0), r.getLong(1)));
          return counts;
        });
  }

  /** Adds a contact: ALREADY_EXISTS for an address (in any case) the list has, NOT_FOUND when the list is gone. */
  public Future<Void> createContact(String accountId, String listName, Contact c) {
    return pool.preparedQuery("INSERT INTO contacts (account_id, list_name, email, address, topic_preferences, "
            + "unsubscribe_all, attributes_data) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)")
        .execute(Tuple.from(new Object[] {accountId, listName, Contact.key(c.address()), c.address(),
            preferencesJson(c.preferences()), c.unsubscribeAll(), c.attributesData()}))
        .<Void>mapEmpty()
        .recover(e -> Future.failedFuture(isUniqueViolation(e)
            ? new SesException(SesError.ALREADY_EXISTS, "Contact " + c.address() + " already exists in list "
                + listName + ".")
            : e instanceof PgException pg && "23503".equals(pg.getSqlState()) ? listNotFound(listName) : e));
  }

  public Future<Optional<Contact>> findContact(String accountId, String listName, String address) {
    return pool.preparedQuery("SELECT address, topic_preferences, unsubscribe_all, created_at, updated_at, "
            + "attributes_data FROM contacts WHERE account_id = $1 AND list_name = $2 AND email = $3")
        .execute(Tuple.of(accountId, listName, Contact.key(address)))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(contact(rows.iterator().next(), true)));
  }

  /**
   * Replaces a contact's preferences for the list's topics ({@code topics}, as the caller saw them), its
   * UnsubscribeAll and attributes; whether there was such a contact. Its choices for topics removed from the list are
   * kept (not shown, and found again if the topic comes back): an update that does not name them cannot have meant to
   * take them back.
   */
  public Future<Boolean> updateContact(String accountId, String listName, Contact c, List<String> topics) {
    return pool.preparedQuery("UPDATE contacts SET topic_preferences = (topic_preferences - $7::text[]) || $4::jsonb, "
            + "unsubscribe_all = $5, attributes_data = $6, updated_at = now() "
            + "WHERE account_id = $1 AND list_name = $2 AND email = $3")
        .execute(Tuple.of(accountId, listName, Contact.key(c.address()), preferencesJson(c.preferences()),
            c.unsubscribeAll(), c.attributesData(), topics.toArray(String[]::new)))
        .map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> deleteContact(String accountId, String listName, String address) {
    return pool.preparedQuery("DELETE FROM contacts WHERE account_id = $1 AND list_name = $2 AND email = $3")
        .execute(Tuple.of(accountId, listName, Contact.key(address))).map(r -> r.rowCount() == 1);
  }

  /**
   * Contacts after {@code after} (a key; null: from the first), in key order, that pass {@code filter}. A contact's
   * status for a topic is OPT_OUT when it unsubscribed from everything, else its own choice, else (only with
   * {@code useDefault}) the topic's default; with no topic, OPT_OUT means UnsubscribeAll and OPT_IN the others.
   * Without their attributes (null): ListContacts does not show them, and a page of them could be hundreds of MB.
   */
  public Future<List<Contact>> contacts(String accountId, String listName, Filter filter, String after, int limit) {
    String topic = filter.topic() == null ? null : filter.topic().name();
    String fallback = filter.topic() != null && filter.useDefault() ? filter.topic().defaultStatus().name() : null;
    String status = filter.status() == null ? null : filter.status().name();
    return pool.preparedQuery("""
            SELECT address, topic_preferences, unsubscribe_all, created_at, updated_at
            FROM contacts WHERE account_id = $1 AND list_name = $2 AND ($3::text IS NULL OR email > $3)
              AND CASE WHEN $4::text IS NULL THEN $6::text IS NULL
                         OR (CASE WHEN unsubscribe_all THEN 'OPT_OUT' ELSE 'OPT_IN' END) = $6
                       ELSE (CASE WHEN unsubscribe_all THEN 'OPT_OUT'
                                  ELSE COALESCE(topic_preferences ->> $4, $5::text) END) IS NOT NULL
                         AND ($6::text IS NULL OR (CASE WHEN unsubscribe_all THEN 'OPT_OUT'
                                  ELSE COALESCE(topic_preferences ->> $4, $5::text) END) = $6) END
            ORDER BY email LIMIT $7""")
        .execute(Tuple.from(new Object[] {accountId, listName, after, topic, fallback, status, limit}))
        .map(rows -> {
          List<Contact> out = new ArrayList<>(rows.size());
          rows.forEach(r -> out.add(contact(r, false)));
          return out;
        });
  }

  /**
   * Unsubscribes {@code address} from the list's {@code topic} (null: from the whole list, UnsubscribeAll), creating the
   * contact when the list does not have it; false when there is no such list. A change is recorded as a Subscription
   * event of message {@code messageId} (the one whose link was used), posted to its configuration set's destinations
   * that take Subscription events, as SES does; {@code source} is how it came ({@code UnsubscribeHeader}: the mailbox
   * provider's one-click button; {@code UnsubscribeLink}: the page's). Doing it again writes and records nothing (the
   * contact's LastUpdatedTimestamp stays). One transaction: the contact and its event, or neither.
   */
  public Future<Boolean> unsubscribe(String accountId, String listName, String address, String topic,
      String messageId, String source) {
    String email = Contact.key(address);
    // The link is in every copy of a newsletter and needs no authentication: a flood of POSTs on one link must not
    // queue on the lock below holding connections of the API's pool. One plain read answers them once the contact is
    // out; only a change takes the lock.
    return pool.preparedQuery("SELECT 1 FROM contacts WHERE account_id = $1 AND list_name = $2 AND email = $3 "
            + "AND CASE WHEN $4::text IS NULL THEN unsubscribe_all ELSE topic_preferences ->> $4 = 'OPT_OUT' END")
        .execute(Tuple.of(accountId, listName, email, topic))
        .compose(out -> out.size() > 0 ? Future.succeededFuture(true)
            : change(accountId, listName, address, email, topic, messageId, source));
  }

  /** {@link #unsubscribe} when the contact is not (known to be) out yet. */
  private Future<Boolean> change(String accountId, String listName, String address, String email, String topic,
      String messageId, String source) {
    // One contact's unsubscriptions take turns (an advisory lock): the row lock of FOR UPDATE cannot hold a contact
    // that does not exist yet, and two first unsubscriptions at once would each see "not a contact" and record a change
    return Database.inTurn(pool, UNSUBSCRIBE_LOCK, accountId + "/" + listName + "/" + email, conn -> conn
        .preparedQuery("SELECT topic_preferences, unsubscribe_all FROM contacts "
            + "WHERE account_id = $1 AND list_name = $2 AND email = $3 FOR UPDATE")
        .execute(Tuple.of(accountId, listName, email))
        .compose(before -> conn.preparedQuery("""
                INSERT INTO contacts (account_id, list_name, email, address, topic_preferences, unsubscribe_all)
                SELECT $1, $2, $3, $4,
                       CASE WHEN $5::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object($5, 'OPT_OUT') END,
                       $5::text IS NULL
                WHERE EXISTS (SELECT 1 FROM contact_lists WHERE account_id = $1 AND name = $2)
                ON CONFLICT (account_id, list_name, email) DO UPDATE SET
                  topic_preferences = CASE WHEN $5::text IS NULL THEN contacts.topic_preferences
                                           ELSE contacts.topic_preferences || jsonb_build_object($5, 'OPT_OUT') END,
                  unsubscribe_all = contacts.unsubscribe_all OR $5::text IS NULL, updated_at = now()
                WHERE CASE WHEN $5::text IS NULL THEN NOT contacts.unsubscribe_all
                           ELSE (contacts.topic_preferences ->> $5) IS DISTINCT FROM 'OPT_OUT' END
                RETURNING topic_preferences, unsubscribe_all""")
            .execute(Tuple.of(accountId, listName, email, address, topic))
            .compose(after -> {
              if (after.size() == 0) {
                // no row: no such list, or a contact already out (since the first read) that was left as it was
                return conn.preparedQuery("SELECT 1 FROM contact_lists WHERE account_id = $1 AND name = $2")
                    .execute(Tuple.of(accountId, listName)).map(list -> list.size() > 0);
              }
              Row now = after.iterator().next();
              JsonObject oldPreferences = before.size() == 0 ? preferencesEvent(new JsonObject(), false)
                  : preferencesEvent((JsonObject) before.iterator().next().getJson(0),
                      before.iterator().next().getBoolean(1));
              JsonObject newPreferences = preferencesEvent((JsonObject) now.getJson(0), now.getBoolean(1));
              if (newPreferences.equals(oldPreferences)) {
                return Future.succeededFuture(true);
              }
              JsonObject detail = new JsonObject().put("contactList", listName)
                  .put("timestamp", io.mailgate.events.SesEvents.time(java.time.Instant.now())).put("source", source)
                  .put("newTopicPreferences", newPreferences).put("oldTopicPreferences", oldPreferences);
              return conn.preparedQuery(SUBSCRIPTION_EVENT)
                  .execute(Tuple.of(messageId, accountId, address, detail.encode())).map(true);
            })));
  }

  /**
   * The Subscription event of a message (when it is still kept), and its rows in the event outbox for the message's
   * configuration set's destinations that take Subscription events.
   */
  private static final String SUBSCRIPTION_EVENT = """
      WITH recorded AS (
        INSERT INTO events (message_id, account_id, type, recipient, detail, created_at)
        SELECT m.id, m.account_id, 'Subscription', $3, $4::text::jsonb, now() FROM messages m
        WHERE m.id = $1 AND m.account_id = $2)
      INSERT INTO event_outbox (destination_id, message_id, type, recipient, detail, created_at, next_attempt_at)
      SELECT ed.id, m.id, 'Subscription', $3, $4::text::jsonb, now(), now()
      FROM messages m JOIN event_destinations ed ON ed.account_id = m.account_id
        AND ed.configuration_set = m.configuration_set
      WHERE m.id = $1 AND m.account_id = $2 AND ed.enabled AND 'Subscription' = ANY(ed.event_types)""";

  /** Preferences as SES's Subscription event writes them: explicit choices, OptIn / OptOut. */
  private static JsonObject preferencesEvent(JsonObject stored, boolean unsubscribeAll) {
    JsonArray topics = new JsonArray();
    new java.util.TreeMap<>(stored.getMap()).forEach((name, status) -> topics.add(new JsonObject()
        .put("topicName", name).put("subscriptionStatus", "OPT_IN".equals(status) ? "OptIn" : "OptOut")));
    return new JsonObject().put("unsubscribeAll", unsubscribeAll).put("topicSubscriptionStatus", topics);
  }

  public static SesException listNotFound(String name) {
    return new SesException(SesError.NOT_FOUND, "List with name " + name + " does not exist.");
  }

  private static boolean isUniqueViolation(Throwable e) {
    return e instanceof PgException pg && "23505".equals(pg.getSqlState());
  }

  /** A contact's explicit preferences as {@code contacts.topic_preferences} keeps them: topic to status. */
  public static JsonObject preferencesJson(Map<String, SubscriptionStatus> preferences) {
    JsonObject o = new JsonObject();
    preferences.forEach((topic, status) -> o.put(topic, status.name()));
    return o;
  }

  private static ContactList list(Row r) {
    List<Topic> topics = new ArrayList<>();
    JsonArray stored = (JsonArray) r.getJson(2);
    for (int i = 0; i < stored.size(); i++) {
      topics.add(Topic.fromJson(stored.getJsonObject(i), "Topics"));
    }
    Object tags = r.getValue(3);
    return new ContactList(r.getString(0), r.getString(1), topics, tags instanceof JsonArray a ? a : new JsonArray(),
        r.getOffsetDateTime(4).toInstant(), r.getOffsetDateTime(5).toInstant());
  }

  /** A row of address, topic_preferences, unsubscribe_all, created_at, updated_at (and attributes_data if asked). */
  private static Contact contact(Row r, boolean withAttributes) {
    Map<String, SubscriptionStatus> preferences = new LinkedHashMap<>();
    JsonObject stored = (JsonObject) r.getJson(1);
    stored.forEach(e -> preferences.put(e.getKey(), SubscriptionStatus.valueOf((String) e.getValue())));
    return new Contact(r.getString(0), preferences, r.getBoolean(2), withAttributes ? r.getString(5) : null,
        r.getOffsetDateTime(3).toInstant(), r.getOffsetDateTime(4).toInstant());
  }
}
