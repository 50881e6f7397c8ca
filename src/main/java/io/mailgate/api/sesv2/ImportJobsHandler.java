package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.requiredObject;
import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.lists.ContactListStore;
import io.mailgate.send.Caller;
import io.mailgate.store.ExportJobStore;
import io.mailgate.store.ImportJobStore;
import io.mailgate.store.ReceivedObjectStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;

/**
 * SES v2 import jobs: CreateImportJob ({@code POST /v2/email/import-jobs}), GetImportJob ({@code GET
 * /v2/email/import-jobs/{JobId}}) and ListImportJobs ({@code POST /v2/email/import-jobs/list}). A job reads a CSV or
 * JSON Lines file of the account's S3 namespace (put there through the S3 endpoint) into its suppression list or one
 * of its contact lists, PUT (add, or replace) or DELETE ({@link io.mailgate.feedback.ImportFile} says what a record
 * is); a node's {@link io.mailgate.feedback.ImportVerticle} runs it. The destination, the data source's address and
 * that the file and the list are there are checked at creation (400 or 404, nothing created). As in SES, bulk changes
 * to the lists take production access. CreateImportJob is one call a second per account, across the nodes
 * ({@code allowed}); an account has at most {@link #MAX_ACTIVE} jobs waiting or running. GetImportJob links the file
 * of a completed job's failed records as GetExportJob links an export's file.
 */
public final class ImportJobsHandler {
  static final int MAX_ACTIVE = 10;
  static final List<String> ACTIONS = List.of("PUT", "DELETE");
  static final List<String> DESTINATION_TYPES = List.of("SUPPRESSION_LIST", "CONTACT_LIST");

  private final ImportJobStore store;
  private final ReceivedObjectStore objects;
  private final ContactListStore lists;
  private final AccountDirectory accounts;
  private final String region;
  private final Clock clock;
  private final Function<String, Future<Void>> allowed;
  private final Runnable created;

  /**
   * @param allowed whether the account may create a job now (a 429 when not)
   * @param created told when a job was created, for this node to take it at once
   */
  public ImportJobsHandler(ImportJobStore store, ReceivedObjectStore objects, ContactListStore lists,
      AccountDirectory accounts, String region, Clock clock, Function<String, Future<Void>> allowed,
      Runnable created) {
    this.store = store;
    this.objects = objects;
    this.lists = lists;
    this.accounts = accounts;
    this.region = region;
    this.clock = clock;
    this.allowed = allowed;
    this.created = created;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    JsonObject destination = requiredObject(body, "ImportDestination", "");
    JsonObject source = requiredObject(body, "ImportDataSource", "");
    JsonObject suppression = object(destination, "SuppressionListDestination", "ImportDestination");
    JsonObject contacts = object(destination, "ContactListDestination", "ImportDestination");
    if ((suppression == null) == (contacts == null)) {
      throw SesException.badRequest("ImportDestination must have one of SuppressionListDestination and "
          + "ContactListDestination.");
    }
    JsonObject kept;
    String listName = null;
    if (suppression != null) {
      kept = new JsonObject().put("SuppressionListDestination", new JsonObject().put("SuppressionListImportAction",
          action(suppression, "SuppressionListImportAction", "ImportDestination.SuppressionListDestination")));
    } else {
      listName = requiredString(contacts, "ContactListName", "ImportDestination.ContactListDestination");
      kept = new JsonObject().put("ContactListDestination", new JsonObject().put("ContactListName", listName)
          .put("ContactListImportAction",
              action(contacts, "ContactListImportAction", "ImportDestination.ContactListDestination")));
    }
    String format = requiredString(source, "DataFormat", "ImportDataSource");
    if (!format.equals("CSV") && !format.equals("JSON")) {
      throw SesException.badRequest("ImportDataSource.DataFormat must be CSV or JSON, not '" + format + "'.");
    }
    String[] file = ExportJobsHandler.s3Url(source.getValue("S3Url"), "ImportDataSource.S3Url", null);
    if (!caller.account().productionAccess()) {
      throw SesException.badRequest("Importing addresses in bulk takes production access: the account is in the "
          + "sandbox.");
    }
    String account = caller.account().id();
    String jobId = UUID.randomUUID().toString();
    ImportJobStore.Job job = new ImportJobStore.Job(account, jobId, kept, format, file[0], file[1],
        ImportJobStore.CREATED, clock.instant(), null, null, null, null, null);
    String list = listName;
    return objects.head(account, file[0], file[1])
        .compose(found -> found.isPresent() ? Future.<Void>succeededFuture()
            : Future.failedFuture(SesException.badRequest("ImportDataSource.S3Url names s3://" + file[0] + "/"
                + file[1] + ", which does not exist: put the file there through the S3 endpoint first.")))
        .compose(v -> list == null ? Future.<Void>succeededFuture() : lists.find(account, list)
            .compose(found -> found.isPresent() ? Future.<Void>succeededFuture()
                : Future.failedFuture(ContactListStore.listNotFound(list))))
        .compose(v -> allowed.apply(account))
        .compose(v -> store.create(job, MAX_ACTIVE))
        .compose(made -> {
          if (!made) {
            return Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED, "The account has " + MAX_ACTIVE
                + " import jobs waiting or running already: wait for one to end."));
          }
          created.run();
          return Future.succeededFuture(new JsonObject().put("JobId", jobId));
        });
  }

  private static String action(JsonObject o, String field, String path) {
    String action = requiredString(o, field, path);
    if (!ACTIONS.contains(action)) {
      throw SesException.badRequest(path + "." + field + " must be PUT or DELETE, not '" + action + "'.");
    }
    return action;
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    return find(caller, ctx.pathParam("jobId")).compose(job -> {
      JsonObject out = summary(job).put("ImportDataSource", new JsonObject().put("S3Url", "s3://" + job.bucket()
          + "/" + job.key()).put("DataFormat", job.dataFormat()));
      if (job.completedAt() != null) {
        out.put("CompletedTimestamp", epoch(job.completedAt()));
      }
      if (job.error() == null && job.failedKey() == null) {
        return Future.succeededFuture(out);
      }
      JsonObject failure = new JsonObject();
      out.put("FailureInfo", failure);
      if (job.error() != null) {
        failure.put("ErrorMessage", job.error());
      }
      return job.failedKey() == null ? Future.succeededFuture(out)
          : ExportJobsHandler.link(ctx, caller, accounts, region, clock, ImportJobStore.FAILED_BUCKET,
              job.failedKey()).map(url -> {
                failure.put("FailedRecordsS3Url", url);
                return out;
              });
    });
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Object type = body == null ? null : body.getValue("ImportDestinationType");
    if (type != null && !DESTINATION_TYPES.contains(type)) {
      throw SesException.badRequest("ImportDestinationType must be SUPPRESSION_LIST or CONTACT_LIST, not '" + type
          + "'.");
    }
    String member = type == null ? null : type.equals("SUPPRESSION_LIST") ? "SuppressionListDestination"
        : "ContactListDestination";
    Paging paging = Paging.of(ctx, body, ExportJobsHandler.MAX_PAGE, String.valueOf(type));
    ExportJobStore.Position after = ExportJobsHandler.after(paging);
    return store.page(caller.account().id(), member, after, paging.pageSize() + 1).map(jobs -> {
      JsonArray out = new JsonArray();
      jobs.subList(0, Math.min(jobs.size(), paging.pageSize())).forEach(j -> out.add(summary(j)));
      JsonObject page = new JsonObject().put("ImportJobs", out);
      if (jobs.size() > paging.pageSize()) {
        ImportJobStore.Job last = jobs.get(paging.pageSize() - 1);
        page.put("NextToken", paging.next(new ExportJobStore.Position(last.createdAt(), last.jobId()).toString()));
      }
      return page;
    });
  }

  private Future<ImportJobStore.Job> find(Caller caller, String jobId) {
    return ExportJobsHandler.find(jobId, id -> store.get(caller.account().id(), id), "Import");
  }

  /** ImportJobSummary: what ListImportJobs shows of a job, and GetImportJob with more. */
  private static JsonObject summary(ImportJobStore.Job job) {
    JsonObject out = new JsonObject().put("JobId", job.jobId()).put("ImportDestination", job.destination())
        .put("JobStatus", job.status()).put("CreatedTimestamp", epoch(job.createdAt()));
    if (job.processed() != null) {
      out.put("ProcessedRecordsCount", job.processed());
    }
    if (job.failed() != null) {
      out.put("FailedRecordsCount", job.failed());
    }
    return out;
  }

  private static double epoch(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }
}
