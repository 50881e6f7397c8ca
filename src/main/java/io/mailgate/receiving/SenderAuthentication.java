package io.mailgate.receiving;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.smtp.Envelope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * The SPF, DKIM and DMARC verdicts of a received message, for its notifications: SPF, DKIM and DMARC's policy
 * discovery at once (their DNS lookups overlap), then DMARC's alignment of the From domain with what SPF and DKIM
 * authenticated. SPF is bounded by its own 20 seconds, DKIM and DMARC by the resolver's timeouts
 * ({@code dns.timeoutMillis}, two attempts) on their few lookups, and the whole by {@link #TIME_LIMIT}, as the sending
 * server waits for its answer to the message: what is not decided by then is TEMPERROR (SPF) or PROCESSING_FAILED. A
 * verdict that cannot be had is never a failure of the message.
 */
public final class SenderAuthentication {

  /** The verdicts of one message. */
  public record Verdicts(SpfVerdict.Result spf, DkimVerdict.Result dkim, DmarcVerdict.Verdict dmarc) {
    /** A message that is not checked (no notification will carry it). */
    static final Verdicts UNCHECKED = new Verdicts(SpfVerdict.Result.NONE, DkimVerdict.Result.of(DkimVerdict.GRAY),
        DmarcVerdict.Verdict.GRAY);
  }

  /** The most a message's answer waits for its verdicts. */
  static final Duration TIME_LIMIT = Duration.ofSeconds(30);

  private final Vertx vertx;
  private final SpfVerdict spf;
  private final DkimVerdict dkim;
  private final DmarcVerdict dmarc;

  private final Duration timeLimit;

  public SenderAuthentication(Vertx vertx, DnsResolver dns) {
    this(vertx, dns, TIME_LIMIT);
  }

  SenderAuthentication(Vertx vertx, DnsResolver dns, Duration timeLimit) {
    this.vertx = vertx;
    this.timeLimit = timeLimit;
    this.spf = new SpfVerdict(vertx, dns);
    this.dkim = new DkimVerdict(vertx, dns);
    this.dmarc = new DmarcVerdict(dns);
  }

  /** The verdicts on {@code message}, received in {@code envelope}. Never fails. */
  public Future<Verdicts> of(Envelope envelope, byte[] message) {
    Future<SpfVerdict.Result> spfResult = guarded(() -> spf.check(
        envelope.remoteAddress() == null ? null : envelope.remoteAddress().getAddress(), envelope.reversePath(),
        envelope.heloName())).otherwise(SpfVerdict.Result.TEMPERROR);
    Future<DkimVerdict.Result> dkimResult = guarded(() -> dkim.of(message))
        .otherwise(DkimVerdict.Result.of(DkimVerdict.PROCESSING_FAILED));
    Future<DmarcVerdict.Policies> policies = guarded(() -> dmarc.discover(message))
        .otherwise(DmarcVerdict.Policies.UNREADABLE);
    Future<Verdicts> all = Future.all(spfResult, dkimResult, policies).map(done -> {
      DmarcVerdict.Verdict dmarcVerdict;
      try {
        dmarcVerdict = DmarcVerdict.judge(policies.result(),
            SpfVerdict.mailFromDomain(envelope.reversePath(), envelope.heloName()),
            spfResult.result() == SpfVerdict.Result.PASS, dkimResult.result().passingDomains(),
            unsure(spfResult.result(), SpfVerdict.mailFromDomain(envelope.reversePath(), envelope.heloName()),
                dkimResult.result()));
      } catch (RuntimeException e) {
        dmarcVerdict = DmarcVerdict.Verdict.PROCESSING_FAILED; // a bug in a check must not fail the message
      }
      return new Verdicts(spfResult.result(), dkimResult.result(), dmarcVerdict);
    });
    Promise<Verdicts> answer = Promise.promise();
    // out of time: the verdicts had by then, the others (and DMARC, which needs all three) unknown
    long timer = vertx.setTimer(timeLimit.toMillis(), t -> answer.tryComplete(new Verdicts(
        spfResult.isComplete() ? spfResult.result() : SpfVerdict.Result.TEMPERROR,
        dkimResult.isComplete() ? dkimResult.result() : DkimVerdict.Result.of(DkimVerdict.PROCESSING_FAILED),
        DmarcVerdict.Verdict.PROCESSING_FAILED)));
    all.onComplete(done -> {
      vertx.cancelTimer(timer);
      answer.tryComplete(done.succeeded() ? done.result() : new Verdicts(SpfVerdict.Result.TEMPERROR,
          DkimVerdict.Result.of(DkimVerdict.PROCESSING_FAILED), DmarcVerdict.Verdict.PROCESSING_FAILED));
    });
    return answer.future();
  }

  /**
   * What SPF and DKIM could not check: the MAIL FROM domain when SPF is TEMPERROR; the signing domains whose keys could
   * not be looked up, or anything when DKIM could not be checked at all (out of time, a header section too long).
   */
  static DmarcVerdict.Unsure unsure(SpfVerdict.Result spf, String mailFromDomain, DkimVerdict.Result dkim) {
    boolean dkimUnsure = dkim.status().equals(DkimVerdict.PROCESSING_FAILED);
    return new DmarcVerdict.Unsure(spf == SpfVerdict.Result.TEMPERROR ? mailFromDomain : null,
        dkimUnsure ? dkim.unavailableDomains() : List.of(), dkimUnsure && dkim.unavailableDomains().isEmpty());
  }

  /** What {@code check} returns, or a failed future when it throws: a bug in a check must not fail the message. */
  private static <T> Future<T> guarded(Supplier<Future<T>> check) {
    try {
      return check.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }
}
