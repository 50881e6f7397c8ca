package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The tags of an account's taggable resources (identities, configuration sets, contact lists and tenants), as SES v2's TagResource,
 * UntagResource and ListTagsForResource see them: a {@code tags} jsonb array of {@code {Key, Value}} on the resource's
 * own row. A change reads the row under lock and writes it back in one transaction, so two concurrent changes to one
 * resource both land.
 */
public final class ResourceTags {
  /** SES's limit on a resource's tags. */
  public static final int MAX_TAGS = 50;

  /** A taggable resource kind: its table and the column naming it within an account. */
  public enum Kind {
    IDENTITY("identities", "identity"),
    CONFIGURATION_SET("configuration_sets", "name"),
    CONTACT_LIST("contact_lists", "name"),
    TENANT("tenants", "name");

    private final String table;
    private final String nameColumn;

    Kind(String table, String nameColumn) {
      this.table = table;
      this.nameColumn = nameColumn;
    }
  }

  /** A change that would leave the resource with more than {@link #MAX_TAGS} tags. */
  public static final class TooManyTags extends RuntimeException {
    TooManyTags(int n) {
      super("A resource has at most " + MAX_TAGS + " tags; this would leave it " + n + ".", null, false, false);
    }
  }

  private final Pool pool;

  public ResourceTags(Pool pool) {
    this.pool = pool;
  }

  /** The resource's tags, or empty when the account has no such resource. */
  public Future<Optional<JsonArray>> list(Kind kind, String accountId, String name) {
    return pool.preparedQuery("SELECT tags FROM " + kind.table + " WHERE account_id = $1 AND " + kind.nameColumn
            + " = $2").execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(tagsOf(rows.iterator().next())));
  }

  /**
   * Adds tags, a key already there taking the new value; false when the account has no such resource. Fails with
   * {@link TooManyTags}, changing nothing, past the limit.
   */
  public Future<Boolean> tag(Kind kind, String accountId, String name, JsonArray tags) {
    return change(kind, accountId, name, current -> {
      for (Object o : tags) {
        JsonObject t = (JsonObject) o;
        current.put(t.getString("Key"), t.getString("Value"));
      }
    });
  }

  /** Removes the tags with these keys (a key it does not have is no error); false when there is no such resource. */
  public Future<Boolean> untag(Kind kind, String accountId, String name, List<String> keys) {
    return change(kind, accountId, name, current -> current.keySet().removeAll(keys));
  }

  private Future<Boolean> change(Kind kind, String accountId, String name,
      java.util.function.Consumer<Map<String, String>> edit) {
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT tags FROM " + kind.table + " WHERE account_id = $1 AND "
            + kind.nameColumn + " = $2 FOR UPDATE").execute(Tuple.of(accountId, name))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(false);
          }
          Map<String, String> current = new LinkedHashMap<>();
          for (Object o : tagsOf(rows.iterator().next())) {
            JsonObject t = (JsonObject) o;
            current.put(t.getString("Key"), t.getString("Value", ""));
          }
          edit.accept(current);
          if (current.size() > MAX_TAGS) {
            return Future.failedFuture(new TooManyTags(current.size()));
          }
          JsonArray out = new JsonArray();
          current.forEach((k, v) -> out.add(new JsonObject().put("Key", k).put("Value", v)));
          return write(conn, kind, accountId, name, out).map(true);
        }));
  }

  private static Future<RowSet<Row>> write(SqlConnection conn, Kind kind, String accountId, String name,
      JsonArray tags) {
    return conn.preparedQuery("UPDATE " + kind.table + " SET tags = $3 WHERE account_id = $1 AND " + kind.nameColumn
        + " = $2").execute(Tuple.of(accountId, name, tags));
  }

  private static JsonArray tagsOf(Row row) {
    Object tags = row.getValue("tags");
    return tags instanceof JsonArray a ? a : new JsonArray();
  }
}
