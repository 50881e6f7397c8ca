package io.mailgate.feedback;

import io.mailgate.AsyncLoop;
import io.mailgate.EventBusAddresses;
import io.mailgate.JobVerticle;
import io.mailgate.OffLoop;
import io.mailgate.SesException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.lists.Contact;
import io.mailgate.lists.ContactList;
import io.mailgate.lists.ContactListStore;
import io.mailgate.store.ImportJobStore;
import io.mailgate.store.LeasedJobs;
import io.mailgate.store.ReceivedObjectStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * Runs SES v2 import jobs ({@link JobVerticle}): reads the job's file from the account's S3 namespace
 * ({@link ImportFile}), writes its records to the suppression list or the contact list {@link #BATCH} at a time (each
 * batch one transaction with the job's progress, fenced by the job's lease), and ends the job COMPLETED with the file
 * of the records that failed, if any. Writing a record again is harmless (a PUT writes the same, a DELETE finds
 * nothing), so a job taken over after its node died starts over from the first record.
 */
public final class ImportVerticle extends JobVerticle<ImportJobStore.Job> {
  private static final Logger LOG = Logger.getLogger(ImportVerticle.class.getName());
  /** Far longer than a batch takes: each batch renews it. */
  static final Duration LEASE = Duration.ofMinutes(10);
  /** Records written in one statement. */
  static final int BATCH = 1000;

  private ImportJobStore jobs;
  private ReceivedObjectStore objects;
  private ContactListStore lists;

  public ImportVerticle(MailgateConfig config, String leaseOwner, Clock clock) {
    super(EventBusAddresses.IMPORT_CREATED, "import jobs", config, leaseOwner, clock, LEASE);
  }

  @Override
  protected LeasedJobs<ImportJobStore.Job> open(Pool db) {
    jobs = new ImportJobStore(db);
    objects = new ReceivedObjectStore(db);
    lists = new ContactListStore(db);
    return jobs;
  }

  /** What a job's run came to: its end to write, or nothing (the job is no longer this node's). */
  private record Outcome(String error, ImportFile.Parsed parsed, boolean written) {}

  @Override
  protected Future<Void> run(ImportJobStore.Job job) {
    JsonObject contactDestination = job.destination().getJsonObject("ContactListDestination");
    String listName = contactDestination == null ? null : contactDestination.getString("ContactListName");
    String action = contactDestination != null ? contactDestination.getString("ContactListImportAction")
        : job.destination().getJsonObject("SuppressionListDestination").getString("SuppressionListImportAction");
    boolean put = "PUT".equals(action);
    String source = "s3://" + job.bucket() + "/" + job.key();
    Future<Outcome> outcome = objects.get(job.accountId(), job.bucket(), job.key())
        .compose(object -> object.isEmpty()
            ? failed("The data source " + source + " does not exist: put the file there through the S3 endpoint, "
                + "and create the job again.")
            : listName == null ? parse(job, put, object.get().content(), null)
            : lists.find(job.accountId(), listName).compose(list -> list.isEmpty()
                ? failed("Contact list " + listName + " does not exist.")
                : parse(job, put, object.get().content(), list.get())))
        .compose(parsed -> parsed.error() != null ? Future.succeededFuture(parsed)
            : write(job, listName, put, parsed.parsed()))
        .recover(e -> {
          if (e instanceof PgException pg && "23503".equals(pg.getSqlState())) {
            return failed("Contact list " + listName + " was deleted while the job ran.");
          }
          LOG.warning("import job " + job.jobId() + " of " + job.accountId() + " failed: " + e);
          // the cause is the node's (its database), not the customer's to read
          return failed("The import could not be finished; create the job again (writing a record again is "
              + "harmless).");
        });
    return outcome.compose(o -> {
      if (!o.written()) {
        return Future.succeededFuture(false);
      }
      ImportFile.Parsed p = o.parsed();
      long records = p == null ? 0 : p.records();
      long failures = p == null ? 0 : p.failures().size();
      Buffer file = p == null || p.failures().isEmpty() ? null
          : ExportFile.write(job.dataFormat(), ImportFile.FAILED_HEADER, p.failures());
      return jobs.end(job, leaseOwner, o.error(), records, failures, file,
          job.jobId() + "-failed-records." + job.dataFormat().toLowerCase(Locale.ROOT),
          config.get(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT), clock.instant());
    }).map(ended -> {
      if (!ended) {
        LOG.info("import job " + job.jobId() + " of " + job.accountId() + " was taken over while it ran, or its "
            + "node is stopping: not ended here");
      }
      return null;
    });
  }

  private static Future<Outcome> failed(String error) {
    return Future.succeededFuture(new Outcome(error, null, true));
  }

  private static Future<Outcome> parse(ImportJobStore.Job job, boolean put, Buffer content, ContactList list) {
    byte[] bytes = content.getBytes();
    return OffLoop.when(bytes.length, () -> {
      try {
        return new Outcome(null, list == null ? ImportFile.suppression(job.dataFormat(), put, bytes)
            : ImportFile.contacts(job.dataFormat(), put, bytes, list), true);
      } catch (SesException e) { // the file as a whole: said, not retried
        return new Outcome(e.getMessage(), null, true);
      }
    });
  }

  /** Writes the records a batch at a time; stops (not written) when the job is no longer this node's. */
  private Future<Outcome> write(ImportJobStore.Job job, String listName, boolean put, ImportFile.Parsed parsed) {
    List<ImportFile.Entry> entries = parsed.entries();
    int[] done = {0};
    boolean[] lost = {false};
    return AsyncLoop.whileTrue(() -> {
      if (done[0] >= entries.size()) {
        return Future.succeededFuture(false);
      }
      if (stopping()) {
        lost[0] = true;
        return Future.succeededFuture(false);
      }
      List<ImportFile.Entry> batch = entries.subList(done[0], Math.min(entries.size(), done[0] + BATCH));
      long processed = done[0] + batch.size();
      Instant until = clock.instant().plus(LEASE);
      Future<Boolean> written = listName == null
          ? jobs.suppress(job, leaseOwner, batch.stream().map(ImportFile.Entry::key).toList(),
              put ? batch.stream().map(e -> (String) e.value()).toList() : null, processed, clock.instant(), until)
          : jobs.contacts(job, leaseOwner, listName, put, rows(batch, put), processed, until);
      return written.map(ok -> {
        done[0] += batch.size();
        lost[0] = !ok;
        return ok;
      });
    }).map(v -> new Outcome(null, parsed, !lost[0]));
  }

  private static ImportJobStore.ContactRows rows(List<ImportFile.Entry> batch, boolean put) {
    List<String> keys = new ArrayList<>(batch.size());
    List<String> addresses = new ArrayList<>(batch.size());
    List<String> preferences = new ArrayList<>(batch.size());
    List<Boolean> unsubscribeAll = new ArrayList<>(batch.size());
    List<String> attributes = new ArrayList<>(batch.size());
    for (ImportFile.Entry e : batch) {
      keys.add(e.key());
      if (put) {
        Contact c = (Contact) e.value();
        addresses.add(c.address());
        preferences.add(ContactListStore.preferencesJson(c.preferences()).encode());
        unsubscribeAll.add(c.unsubscribeAll());
        attributes.add(c.attributesData());
      }
    }
    return new ImportJobStore.ContactRows(keys, addresses, preferences, unsubscribeAll, attributes);
  }
}
