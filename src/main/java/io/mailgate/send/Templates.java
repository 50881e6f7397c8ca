package io.mailgate.send;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Optional;

/**
 * Templates for the send path: finds the template a send names (in the caller's account) and renders it on a worker
 * thread, since rendering costs what the template and its data make it cost.
 */
public final class Templates {
  /** Where stored templates are read: by account and name. */
  public interface Source {
    Future<Optional<EmailTemplate>> find(String accountId, String name);
  }

  private record Cached(Optional<EmailTemplate> template, long expiresAt) {}

  private final Source source;
  private final TemplateRenderer renderer;
  private final java.time.Clock clock;
  private final Vertx vertx;
  /** The node's rendering threads, shared by its API verticles, taken in turn by account. */
  private final FairQueue queue;
  private final long ttlMillis;
  private final io.mailgate.metrics.Metrics metrics;
  /** Templates read lately, by account and name: a send of a stored template costs no query (one event loop's). */
  private final java.util.Map<String, Cached> cache = new java.util.HashMap<>();

  /**
   * @param ttlMillis how long a template read from the store is used before it is read again (an update made on
   *     another event loop or node shows within this; 0: read every time)
   */
  public Templates(Vertx vertx, Source source, TemplateRenderer renderer, java.time.Clock clock, long ttlMillis) {
    this.source = source;
    this.renderer = renderer;
    this.clock = clock;
    // their own threads: renderings are bounded, but a burst of them must not hold the pool that DKIM key
    // generation and bounce parsing use; and one account's must not hold up the others' (see FairQueue)
    this.vertx = vertx;
    this.queue = (FairQueue) vertx.sharedData().getLocalMap("mailgate.templates").computeIfAbsent("queue",
        k -> FairQueue.withThreads(RENDER_THREADS, WAITING_PER_ACCOUNT, "mailgate-templates"));
    this.ttlMillis = ttlMillis;
    this.metrics = io.mailgate.metrics.Metrics.of(vertx);
  }

  /** Forgets what this instance cached of a template that was just changed or deleted. */
  public void changed(String accountId, String name) {
    cache.remove(accountId + "\n" + name);
  }

  /** The template a send names: inline, by name, or by an ARN of the caller's own account. */
  public Future<EmailTemplate> resolve(String accountId, TemplateContent t) {
    if (t.inline() != null) {
      return Future.succeededFuture(t.inline());
    }
    String name;
    try {
      name = t.arn() != null ? nameFromArn(accountId, t.arn(), t.name()) : t.name();
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    String key = accountId + "\n" + name;
    long now = clock.millis();
    Cached c = cache.get(key);
    Future<Optional<EmailTemplate>> found;
    if (c != null && c.expiresAt() > now) {
      found = Future.succeededFuture(c.template());
    } else {
      found = source.find(accountId, name).andThen(ar -> {
        if (ar.succeeded() && ttlMillis > 0) {
          if (cache.size() >= 1_000) {
            cache.clear();
          }
          cache.put(key, new Cached(ar.result(), now + ttlMillis));
        }
      });
    }
    return found.compose(f -> f.isPresent() ? Future.succeededFuture(f.get())
        : Future.failedFuture(new SesException(SesError.TEMPLATE_NOT_FOUND, "Template " + name + " does not exist.")));
  }

  /** One rendering: its parts, or why it failed. */
  public record Outcome(TemplateRenderer.Rendered rendered, SesException failure) {}

  /**
   * Renders the template once per data object, on a worker thread. A template that does not compile fails the whole
   * future (a 400); a rendering that fails (an attribute the data lacks) fails only its own outcome.
   *
   * <p>The node's renderings take turns by account ({@link FairQueue}): a template costs what its caller makes it
   * cost (compiling 500 KB of tags takes seconds), and one account sending such templates as fast as it can held up
   * every other account's templated sends behind its queue. An account with {@link #WAITING_PER_ACCOUNT} renderings
   * waiting is answered TooManyRequests (which the SDKs retry after a pause).
   *
   * @param accountId whose turn it takes
   * @param stored whether it is a stored template (its compiled form is kept, as every send of it uses it) rather than
   *     a send's own (kept only when small, apart: a caller varying large ones cannot push out the stored ones)
   */
  public Future<List<Outcome>> render(String accountId, EmailTemplate template, List<String> data, boolean stored) {
    io.vertx.core.Context context = vertx.getOrCreateContext();
    io.vertx.core.Promise<List<Outcome>> result = io.vertx.core.Promise.promise();
    boolean queued = queue.offer(accountId, () -> {
      List<Outcome> out = null;
      Throwable failure = null;
      try {
        out = renderNow(template, data, stored);
      } catch (Throwable e) { // the caller's answer, whatever it is: a 400, or the 500 of something unforeseen
        failure = e;
      }
      List<Outcome> done = out;
      Throwable failed = failure;
      context.runOnContext(v -> {
        if (failed != null) {
          result.fail(failed);
        } else {
          result.complete(done);
        }
      });
    });
    if (!queued) {
      return Future.failedFuture(new SesException(SesError.TOO_MANY_REQUESTS, "Too many of this account's templated "
          + "messages are waiting to be rendered. Slow down."));
    }
    return result.future();
  }

  /** Threads rendering templates on a node, and renderings one account may have waiting for them. */
  static final int RENDER_THREADS = 2;
  static final int WAITING_PER_ACCOUNT = 256;

  private List<Outcome> renderNow(EmailTemplate template, List<String> data, boolean stored) {
    TemplateRenderer.Compiled compiled = renderer.compile(template, stored);
    TemplateRenderer.Budget budget = renderer.budget();
    List<Outcome> out = new java.util.ArrayList<>(data.size());
    for (String d : data) {
      metrics.templateRendering();
      long[] before = budget.left();
      try {
        out.add(new Outcome(renderer.render(compiled, d, budget), null));
      } catch (SesException e) {
        budget.restore(before); // an entry that failed leaves the others the budget it would have used
        out.add(new Outcome(null, e));
      }
    }
    return out;
  }

  /** One rendering, failed as a whole if it fails. */
  public Future<TemplateRenderer.Rendered> renderOne(String accountId, EmailTemplate template, String data,
      boolean stored) {
    return render(accountId, template, List.of(data == null ? "" : data), stored).compose(all -> all.get(0).failure() == null
        ? Future.succeededFuture(all.get(0).rendered()) : Future.failedFuture(all.get(0).failure()));
  }

  /** {@code arn:aws:ses:<region>:<account>:template/<name>}; another account's template does not exist here. */
  static String nameFromArn(String accountId, String arn, String name) {
    io.mailgate.SesArn parsed = io.mailgate.SesArn.parse(arn);
    if (parsed == null || !parsed.resource().startsWith("template/")) {
      throw SesException.badRequest("Invalid TemplateArn: " + MailboxParser.abbreviate(arn));
    }
    String fromArn = EmailTemplate.checkName(parsed.resource().substring("template/".length()));
    if (name != null && !name.equals(fromArn)) {
      throw SesException.badRequest("TemplateName and TemplateArn name different templates.");
    }
    if (!parsed.account().equals(accountId)) {
      throw new SesException(SesError.TEMPLATE_NOT_FOUND, "Template " + fromArn + " does not exist.");
    }
    return fromArn;
  }
}
