package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.requiredObject;
import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.api.s3.BucketNames;
import io.mailgate.api.s3.S3Api;
import io.mailgate.api.sigv4.S3Presigner;
import io.mailgate.feedback.MessageInsightsExport;
import io.mailgate.feedback.MetricsExport;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.send.Caller;
import io.mailgate.store.ExportJobStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * SES v2 export jobs: CreateExportJob ({@code POST /v2/email/export-jobs}), GetExportJob ({@code GET
 * /v2/email/export-jobs/{JobId}}), ListExportJobs ({@code POST /v2/email/list-export-jobs}) and CancelExportJob
 * ({@code PUT /v2/email/export-jobs/{JobId}/cancel}). A job exports the VDM metrics ({@link MetricsExport}, VDM on) or
 * the message insights ({@link MessageInsightsExport}) of the account, as CSV or JSON Lines, to an object of its S3
 * namespace read back through the S3 endpoint: the {@code S3Url} given ({@code s3://bucket/key}; a key ending in
 * {@code /} gets the job's id and the format's extension after it), else {@value #BUCKET} with the job's id as key.
 * GetExportJob links a completed job's file as SES does: a presigned URL of the S3 endpoint at the host the call was
 * made to, signed with the caller's key for {@link #LINK_VALID}; before, the file's {@code s3://} address. The
 * data source is checked whole when the job is created (a 400 for the first problem, nothing created); a node's
 * {@link io.mailgate.feedback.ExportVerticle} makes the file. CreateExportJob is SES's one call a second per account,
 * across the nodes ({@code allowed}); an account has at most {@link #MAX_ACTIVE} jobs waiting or running.
 */
public final class ExportJobsHandler {
  /** Where a job without an S3Url puts its file. */
  public static final String BUCKET = "mailgate-exports";
  static final int MAX_ACTIVE = 10;
  static final int MAX_PAGE = 100;
  static final int MAX_KEY_BYTES = 1024;
  static final int MAX_URL = 1100;
  static final List<String> SOURCE_TYPES = List.of("METRICS_DATA", "MESSAGE_INSIGHTS");
  static final List<String> STATUSES = List.of(ExportJobStore.CREATED, ExportJobStore.PROCESSING,
      ExportJobStore.COMPLETED, ExportJobStore.FAILED, ExportJobStore.CANCELLED);
  /** A Host header a link can name: a name or an IPv4 address, or an IPv6 one in brackets; a port. */
  private static final Pattern HOST =
      Pattern.compile("[A-Za-z0-9.\\-]+(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?");
  private static final Pattern JOB_ID = ExportJobStore.JOB_ID;

  /** How long GetExportJob's link to a file lets anyone holding it fetch it. */
  static final Duration LINK_VALID = Duration.ofHours(1);

  private final ExportJobStore store;
  private final AccountDirectory accounts;
  private final String region;
  private final Clock clock;
  private final Function<String, Future<Void>> allowed;
  private final Runnable created;

  /**
   * @param allowed whether the account may create a job now (a 429 when not)
   * @param created told when a job was created, for this node to take it at once
   */
  public ExportJobsHandler(ExportJobStore store, AccountDirectory accounts, String region, Clock clock,
      Function<String, Future<Void>> allowed, Runnable created) {
    this.store = store;
    this.accounts = accounts;
    this.region = region;
    this.clock = clock;
    this.allowed = allowed;
    this.created = created;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    JsonObject source = requiredObject(body, "ExportDataSource", "");
    JsonObject destination = requiredObject(body, "ExportDestination", "");
    JsonObject metrics = object(source, "MetricsDataSource", "ExportDataSource");
    JsonObject insights = object(source, "MessageInsightsDataSource", "ExportDataSource");
    if ((metrics == null) == (insights == null)) {
      throw SesException.badRequest("ExportDataSource must have one of MetricsDataSource and "
          + "MessageInsightsDataSource.");
    }
    String type;
    JsonObject kept;
    if (metrics != null) {
      MetricsExport.parse(metrics, "ExportDataSource.MetricsDataSource");
      type = "METRICS_DATA";
      kept = new JsonObject().put("MetricsDataSource",
          MetricsExport.normalized(metrics, "ExportDataSource.MetricsDataSource"));
    } else {
      type = "MESSAGE_INSIGHTS";
      kept = new JsonObject().put("MessageInsightsDataSource",
          MessageInsightsExport.normalized(insights, "ExportDataSource.MessageInsightsDataSource"));
    }
    String format = requiredString(destination, "DataFormat", "ExportDestination");
    if (!format.equals("CSV") && !format.equals("JSON")) {
      throw SesException.badRequest("ExportDestination.DataFormat must be CSV or JSON, not '" + format + "'.");
    }
    String jobId = UUID.randomUUID().toString();
    String[] place = place(destination.getValue("S3Url"), jobId, format);
    String account = caller.account().id();
    ExportJobStore.Job job = new ExportJobStore.Job(account, jobId, type, kept, format, place[0], place[1],
        ExportJobStore.CREATED, clock.instant(), null, null, null, null);
    // a request refused for VDM being off takes none of the account's calls
    return (metrics == null ? Future.<Void>succeededFuture()
            : MetricDataHandler.vdmOn(accounts, account, "its metrics are computed from then on"))
        .compose(v -> allowed.apply(account))
        .compose(v -> store.create(job, MAX_ACTIVE))
        .compose(made -> {
          if (!made) {
            return Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED, "The account has " + MAX_ACTIVE
                + " export jobs waiting or running already: wait for one to end, or cancel one."));
          }
          created.run();
          return Future.succeededFuture(new JsonObject().put("JobId", jobId));
        });
  }

  /** The bucket and key of the job's file: the S3Url's, or ours. */
  static String[] place(Object s3Url, String jobId, String format) {
    String file = jobId + "." + format.toLowerCase(Locale.ROOT);
    if (s3Url == null) {
      return new String[] {BUCKET, file};
    }
    return s3Url(s3Url, "ExportDestination.S3Url", file);
  }

  /**
   * The bucket and key an S3Url names, by SES's pattern {@code ^s3://([^/]+)/(.*?([^/]+)/?)$} read without a regular
   * expression (whose backtracking a long URL of slashes would make take minutes): a bucket, and a key that ends in a
   * name, or a name and one slash.
   *
   * @param file what a key ending in a slash gets after it; null: the key as given
   */
  static String[] s3Url(Object s3Url, String field, String file) {
    if (!(s3Url instanceof String url)) {
      throw SesException.badRequest("Invalid type for field " + field + ": expected a string.");
    }
    int slash = url.startsWith("s3://") ? url.indexOf('/', 5) : -1;
    String given = slash < 0 ? "" : url.substring(slash + 1);
    String name = given.endsWith("/") ? given.substring(0, given.length() - 1) : given;
    if (slash <= 5 || name.isEmpty() || name.endsWith("/") || url.length() > MAX_URL) {
      throw SesException.badRequest(field + " must be s3://<bucket>/<key>, at most " + MAX_URL + " characters.");
    }
    String bucket = url.substring(5, slash);
    String key = file != null && given.endsWith("/") ? given + file : given;
    if (!BucketNames.valid(bucket)) {
      throw SesException.badRequest(field + " names '" + bucket + "', which is not a valid bucket name.");
    }
    if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES
        || key.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw SesException.badRequest(field + "'s key must be at most " + MAX_KEY_BYTES
          + " bytes of UTF-8, without control characters.");
    }
    return new String[] {bucket, key};
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    return find(caller, ctx.pathParam("jobId")).compose(job -> !job.status().equals(ExportJobStore.COMPLETED)
        ? Future.succeededFuture(rendered(job, "s3://" + job.bucket() + "/" + job.key()))
        : link(ctx, caller, accounts, region, clock, job.bucket(), job.key()).map(url -> rendered(job, url)));
  }

  /**
   * A link to a job's file, as SES gives one: a presigned GET of the S3 endpoint at the host and scheme the call was
   * made to, signed with the caller's key for {@link #LINK_VALID}; the file's {@code s3://} address when the call
   * named no host a link could go to.
   */
  static Future<String> link(RoutingContext ctx, Caller caller, AccountDirectory accounts, String region, Clock clock,
      String bucket, String key) {
    String host = ctx.request().getHeader("Host");
    String address = "s3://" + bucket + "/" + key;
    if (host == null || !HOST.matcher(host).matches()) {
      return Future.succeededFuture(address);
    }
    String scheme = ctx.request().scheme();
    return accounts.byAccessKey(caller.accessKeyId()).map(found -> found.isEmpty() ? address
        : S3Presigner.get(scheme, host, S3Api.PATH, bucket, key, caller.accessKeyId(), found.get().secret(), region,
            clock.instant(), LINK_VALID));
  }

  /** The job as GetExportJob shows it, its file at {@code url}. */
  private static JsonObject rendered(ExportJobStore.Job job, String url) {
    JsonObject out = summary(job).put("ExportDestination", new JsonObject().put("DataFormat", job.dataFormat())
        .put("S3Url", url)).put("ExportDataSource", job.dataSource());
    if (job.error() != null) {
      out.put("FailureInfo", new JsonObject().put("ErrorMessage", job.error()));
    }
    if (job.processed() != null) {
      JsonObject stats = new JsonObject().put("ProcessedRecordsCount", job.processed());
      if (job.exported() != null) {
        stats.put("ExportedRecordsCount", job.exported());
      }
      out.put("Statistics", stats);
    }
    return out;
  }

  public Future<JsonObject> cancel(Caller caller, RoutingContext ctx) {
    String jobId = ctx.pathParam("jobId");
    String account = caller.account().id();
    if (!JOB_ID.matcher(jobId).matches()) {
      return Future.failedFuture(notFound("Export", jobId));
    }
    return store.cancel(account, jobId, clock.instant()).compose(cancelled -> cancelled
        ? Future.succeededFuture(new JsonObject())
        : find(caller, jobId).compose(job -> Future.failedFuture(SesException.badRequest("Export job " + jobId
            + " is " + job.status() + ": only a job CREATED or PROCESSING can be cancelled."))));
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    String type = choice(body, "ExportSourceType", SOURCE_TYPES);
    String status = choice(body, "JobStatus", STATUSES);
    Paging paging = Paging.of(ctx, body, MAX_PAGE, type + "\n" + status);
    ExportJobStore.Position after = after(paging);
    return store.page(caller.account().id(), type, status, after, paging.pageSize() + 1).map(jobs -> {
      JsonArray out = new JsonArray();
      jobs.subList(0, Math.min(jobs.size(), paging.pageSize())).forEach(j -> out.add(summary(j)));
      JsonObject page = new JsonObject().put("ExportJobs", out);
      if (jobs.size() > paging.pageSize()) {
        ExportJobStore.Job last = jobs.get(paging.pageSize() - 1);
        page.put("NextToken", paging.next(new ExportJobStore.Position(last.createdAt(), last.jobId()).toString()));
      }
      return page;
    });
  }

  private static String choice(JsonObject body, String field, List<String> allowed) {
    Object v = body == null ? null : body.getValue(field);
    if (v != null && !allowed.contains(v)) {
      throw SesException.badRequest(field + " must be one of " + String.join(", ", allowed) + ", not '" + v + "'.");
    }
    return (String) v;
  }

  private Future<ExportJobStore.Job> find(Caller caller, String jobId) {
    return find(jobId, id -> store.get(caller.account().id(), id), "Export");
  }

  /** The job of this id, or NotFound (also for an id that is no job's: no query for it). */
  static <J> Future<J> find(String jobId, Function<String, Future<Optional<J>>> get, String kind) {
    if (jobId == null || !JOB_ID.matcher(jobId).matches()) {
      return Future.failedFuture(notFound(kind, jobId));
    }
    return get.apply(jobId).compose(found -> found.isPresent()
        ? Future.succeededFuture(found.get()) : Future.failedFuture(notFound(kind, jobId)));
  }

  /** Where a listing of jobs goes on from: its NextToken's job, checked (a 400 for a forged one); null: the first. */
  static ExportJobStore.Position after(Paging paging) {
    if (paging.pageSize() > MAX_PAGE) {
      throw SesException.badRequest("PageSize must be between 1 and " + MAX_PAGE + ".");
    }
    ExportJobStore.Position after = paging.after() == null ? null : ExportJobStore.Position.of(paging.after());
    if (paging.after() != null && after == null) {
      throw Paging.invalidToken(SesError.BAD_REQUEST);
    }
    return after;
  }

  private static JsonObject summary(ExportJobStore.Job job) {
    JsonObject out = new JsonObject().put("JobId", job.jobId()).put("ExportSourceType", job.sourceType())
        .put("JobStatus", job.status()).put("CreatedTimestamp", epoch(job.createdAt()));
    if (job.completedAt() != null) {
      out.put("CompletedTimestamp", epoch(job.completedAt()));
    }
    return out;
  }

  private static double epoch(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }

  private static SesException notFound(String kind, String jobId) {
    return new SesException(SesError.NOT_FOUND, kind + " job " + jobId + " does not exist.");
  }
}
