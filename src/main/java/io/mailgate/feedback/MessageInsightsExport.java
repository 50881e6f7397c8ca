package io.mailgate.feedback;

import static io.mailgate.api.JsonFields.object;

import io.mailgate.AsyncLoop;
import io.mailgate.OffLoop;
import io.mailgate.SesException;
import io.mailgate.api.sesv2.MessageInsightsHandler;
import io.mailgate.api.sesv2.MetricDataHandler;
import io.mailgate.send.MessageIds;
import io.mailgate.store.ExportJobStore;
import io.mailgate.store.MessageQuery;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * An export job's MessageInsightsDataSource (SES v2 CreateExportJob, MESSAGE_INSIGHTS): a record per message of the
 * account sent from StartDate to EndDate (both included) and recipient of it, as GetMessageInsights shows them, with
 * its last delivery event (by SES's order SEND &lt; BOUNCE &lt; DELIVERY &lt; COMPLAINT, a bounce named by its type)
 * and its last engagement event (OPEN &lt; CLICK), kept when it matches Include and none of Exclude, up to MaxResults
 * records (10,000 when not given). Filters are SES's: fields joined by AND, a field's values by OR, case-sensitive;
 * FromEmailAddress, Destination and Subject match whole, or by a {@code *} at either end or both (suffix, prefix,
 * contains), {@code \*} and {@code \\} standing for a literal star and backslash.
 *
 * <p>Messages are walked in id order (their time order) by statements of at most {@link #MESSAGES_PER_STATEMENT}
 * messages of any account, the job's lease renewed between them: a cancelled job stops at the next.
 */
public final class MessageInsightsExport {
  static final int MESSAGES_PER_STATEMENT = 20_000;
  static final int MAX_RESULTS = 10_000;
  static final int MAX_FILTER_VALUES = 5;
  static final int MAX_FILTER_LENGTH = 320;
  static final List<String> DELIVERY_EVENTS = List.of("SEND", "DELIVERY", "TRANSIENT_BOUNCE", "PERMANENT_BOUNCE",
      "UNDETERMINED_BOUNCE", "COMPLAINT");
  static final List<String> ENGAGEMENT_EVENTS = List.of("OPEN", "CLICK");
  static final List<String> HEADER = List.of("MessageId", "SendTimestamp", "FromEmailAddress", "Subject",
      "Destination", "Isp", "LastDeliveryEvent", "LastEngagementEvent", "EmailTags", "Events");

  /** A data source as checked: the span, the filters as predicates over a record, the most records. */
  public record Source(Instant from, Instant to, Predicate<JsonObject> include, Predicate<JsonObject> exclude,
      int maxResults) {}

  private final MessageQuery query;
  private final int perStatement;

  MessageInsightsExport(Pool pool) {
    this(pool, MESSAGES_PER_STATEMENT);
  }

  MessageInsightsExport(Pool pool, int perStatement) {
    this.query = new MessageQuery(pool);
    this.perStatement = perStatement;
  }

  /**
   * The data source as given ({@code path} naming it in errors), checked against SES's model: a 400 for the first
   * problem.
   */
  public static Source parse(JsonObject source, String path) {
    Instant start = MetricDataHandler.time(source, "StartDate", path);
    Instant end = MetricDataHandler.time(source, "EndDate", path);
    if (start.isAfter(end)) {
      throw SesException.badRequest(path + ".StartDate is after its EndDate.");
    }
    Object max = source.getValue("MaxResults");
    if (max != null && !(max instanceof Integer || max instanceof Long)) {
      throw SesException.badRequest("Invalid type for field " + path + ".MaxResults: expected an integer.");
    }
    if (max != null && (((Number) max).longValue() < 1 || ((Number) max).longValue() > MAX_RESULTS)) {
      throw SesException.badRequest(path + ".MaxResults must be between 1 and " + MAX_RESULTS + ".");
    }
    JsonObject include = object(source, "Include", path);
    JsonObject exclude = object(source, "Exclude", path);
    return new Source(start, end, include == null ? r -> true : filters(include, path + ".Include", true),
        exclude == null ? r -> false : filters(exclude, path + ".Exclude", false),
        max == null ? MAX_RESULTS : ((Number) max).intValue());
  }

  /**
   * A MessageInsightsFilters object as one predicate: its fields' tests joined by AND, each field's values by OR. A
   * filter without any field matches all records in an Include and none in an Exclude ({@code empty}).
   */
  private static Predicate<JsonObject> filters(JsonObject f, String path, boolean empty) {
    Map<String, Function<String, Predicate<String>>> fields = Map.of(
        "Destination", MessageInsightsExport::pattern, "FromEmailAddress", MessageInsightsExport::pattern,
        "Subject", MessageInsightsExport::pattern, "Isp", v -> v::equals,
        "LastDeliveryEvent", v -> v::equals, "LastEngagementEvent", v -> v::equals);
    List<Predicate<JsonObject>> tests = new ArrayList<>();
    for (String field : f.fieldNames()) {
      Function<String, Predicate<String>> matcher = fields.get(field);
      if (matcher == null) {
        throw SesException.badRequest(path + " has '" + field + "', not one of Destination, FromEmailAddress, Isp, "
            + "LastDeliveryEvent, LastEngagementEvent, Subject.");
      }
      if (!(f.getValue(field) instanceof JsonArray values) || values.size() > MAX_FILTER_VALUES) {
        throw SesException.badRequest(path + "." + field + " must be a list of at most " + MAX_FILTER_VALUES
            + " values.");
      }
      List<String> allowed = field.equals("LastDeliveryEvent") ? DELIVERY_EVENTS
          : field.equals("LastEngagementEvent") ? ENGAGEMENT_EVENTS : null;
      List<Predicate<String>> any = new ArrayList<>();
      for (int i = 0; i < values.size(); i++) {
        if (!(values.getValue(i) instanceof String v) || v.isEmpty() || v.length() > MAX_FILTER_LENGTH) {
          throw SesException.badRequest(path + "." + field + "[" + i + "] must be a string of 1 to "
              + MAX_FILTER_LENGTH + " characters.");
        }
        if (v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) { // no address or subject kept has one
          throw SesException.badRequest(path + "." + field + "[" + i + "] has a control character.");
        }
        if (allowed != null && !allowed.contains(v)) {
          throw SesException.badRequest(path + "." + field + "[" + i + "] must be one of " + String.join(", ", allowed)
              + ", not '" + v + "'.");
        }
        try {
          any.add(matcher.apply(v));
        } catch (IllegalArgumentException e) {
          throw SesException.badRequest(path + "." + field + "[" + i + "] " + e.getMessage());
        }
      }
      if (!any.isEmpty()) {
        tests.add(r -> r.getValue(field) instanceof String s && any.stream().anyMatch(p -> p.test(s)));
      }
    }
    return tests.isEmpty() ? r -> empty : r -> tests.stream().allMatch(t -> t.test(r));
  }

  /**
   * A partial-match value as a test: whole, or with a {@code *} at its start (the text ends so), its end (starts so)
   * or both (holds it); {@code \*} a star and {@code \\} a backslash. A star elsewhere, or a lone backslash, is
   * refused.
   */
  static Predicate<String> pattern(String value) {
    StringBuilder text = new StringBuilder();
    boolean leading = false;
    boolean trailing = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\\') {
        if (i + 1 == value.length() || (value.charAt(i + 1) != '*' && value.charAt(i + 1) != '\\')) {
          throw new IllegalArgumentException("has a backslash that escapes neither * nor \\.");
        }
        text.append(value.charAt(++i));
      } else if (c == '*' && i == 0) {
        leading = true;
      } else if (c == '*' && i == value.length() - 1) {
        trailing = true;
      } else if (c == '*') {
        throw new IllegalArgumentException("has a * inside it: a wildcard goes at its start or its end; a literal "
            + "star is written \\*.");
      } else {
        text.append(c);
      }
    }
    String t = text.toString();
    if (leading && trailing) {
      return s -> s.contains(t);
    }
    return leading ? s -> s.endsWith(t) : trailing ? s -> s.startsWith(t) : t::equals;
  }

  /** The job's file: the account's messages of its span, walked in order, until MaxResults records are kept. */
  Future<ExportJobStore.Ending> export(ExportJobStore.Job job, Function<ExportJobStore.Job, Future<Boolean>> renew) {
    Source source = parse(job.dataSource().getJsonObject("MessageInsightsDataSource"),
        "ExportDataSource.MessageInsightsDataSource");
    List<JsonObject> records = new ArrayList<>();
    long[] processed = {0};
    String until = MessageIds.prefix(source.to().plusMillis(1));
    String[] after = {MessageIds.prefix(source.from())};
    // statement after statement, the lease renewed between them (a cancelled job stops there)
    return AsyncLoop.whileTrue(() -> query.step(job.accountId(), after[0], until, perStatement)
            .compose(step -> messages(job.accountId(), step.ids(), source, records, processed).compose(v -> {
              if (records.size() >= source.maxResults() || step.read() < perStatement) {
                return Future.succeededFuture(false);
              }
              after[0] = step.last();
              return renew.apply(job);
            })))
        .compose(v -> OffLoop.when(records.size() * 1000L, () -> (ExportJobStore.Ending)
            new ExportJobStore.Ending.Exported(ExportFile.write(job.dataFormat(), HEADER, records), processed[0],
                records.size())));
  }

  /** The records of the messages {@code ids}, one message after the other, until MaxResults are kept. */
  private Future<Void> messages(String accountId, List<String> ids, Source source, List<JsonObject> records,
      long[] processed) {
    int[] next = {0};
    return AsyncLoop.whileTrue(() -> next[0] == ids.size() || records.size() >= source.maxResults()
        ? Future.succeededFuture(false)
        : query.find(accountId, ids.get(next[0]++)).map(found -> {
          found.ifPresent(m -> {
            for (JsonObject record : records(m)) {
              processed[0]++;
              if (records.size() < source.maxResults() && source.include().test(record)
                  && !source.exclude().test(record)) {
                records.add(record);
              }
            }
          });
          return true;
        }));
  }

  /** A message's records: one per recipient, its insight with the message's fields and its last events. */
  static List<JsonObject> records(MessageQuery.StoredMessage m) {
    JsonObject insights = MessageInsightsHandler.render(m);
    List<JsonObject> out = new ArrayList<>();
    for (Object o : insights.getJsonArray("Insights")) {
      JsonObject insight = (JsonObject) o;
      JsonArray events = insight.getJsonArray("Events");
      JsonObject record = new JsonObject().put("MessageId", m.id()).put("SendTimestamp", m.createdAt().toString())
          .put("FromEmailAddress", insights.getString("FromEmailAddress"));
      put(record, "Subject", insights.getString("Subject"));
      record.put("Destination", insight.getString("Destination"));
      put(record, "Isp", insight.getString("Isp"));
      put(record, "LastDeliveryEvent", lastDelivery(events));
      put(record, "LastEngagementEvent", lastEngagement(events));
      out.add(record.put("EmailTags", insights.getJsonArray("EmailTags")).put("Events", events));
    }
    return out;
  }

  /** The highest of the events by SES's order SEND &lt; BOUNCE &lt; DELIVERY &lt; COMPLAINT (the latest of a rank). */
  static String lastDelivery(JsonArray events) {
    List<String> order = List.of("SEND", "BOUNCE", "DELIVERY", "COMPLAINT");
    int best = -1;
    String last = null;
    for (Object o : events) {
      JsonObject e = (JsonObject) o;
      int rank = order.indexOf(e.getString("Type"));
      if (rank >= 0 && rank >= best) {
        best = rank;
        last = rank != 1 ? e.getString("Type") : bounceType(e) + "_BOUNCE";
      }
    }
    return last;
  }

  private static String bounceType(JsonObject event) {
    JsonObject details = event.getJsonObject("Details");
    JsonObject bounce = details == null ? null : details.getJsonObject("Bounce");
    String type = bounce == null ? null : bounce.getString("BounceType");
    return type == null ? "UNDETERMINED" : type;
  }

  static String lastEngagement(JsonArray events) {
    String last = null;
    for (Object o : events) {
      String type = ((JsonObject) o).getString("Type");
      if (type.equals("CLICK") || (type.equals("OPEN") && last == null)) {
        last = type;
      }
    }
    return last;
  }

  private static void put(JsonObject o, String name, String value) {
    if (value != null) {
      o.put(name, value);
    }
  }

  /** The data source as kept and shown: what was given, checked, with dates as epoch seconds. */
  public static JsonObject normalized(JsonObject source, String path) {
    Source s = parse(source, path);
    JsonObject out = new JsonObject().put("StartDate", s.from().toEpochMilli() / 1000.0)
        .put("EndDate", s.to().toEpochMilli() / 1000.0).put("MaxResults", s.maxResults());
    for (String f : List.of("Include", "Exclude")) {
      if (source.getValue(f) != null) {
        out.put(f, source.getJsonObject(f).copy());
      }
    }
    return out;
  }
}
