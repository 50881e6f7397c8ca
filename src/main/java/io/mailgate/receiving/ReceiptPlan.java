package io.mailgate.receiving;

import io.mailgate.receiving.ReceivingDirectory.AccountRules;
import io.mailgate.smtp.SmtpReply;
import java.util.ArrayList;
import java.util.List;

/**
 * What receiving does with one recipient, decided from the rules alone (they look at the recipient and the session's
 * TLS, not at the content), so it is known when RCPT TO is answered: each receiving account's chain of rules and the
 * actions they run, or why the recipient is refused.
 *
 * <p>For each account receiving for the address (see {@link ReceivingDirectory}), in order: its IP address filters
 * ({@code Block} refuses unless an {@code Allow} covers the client too), then its enabled rules in order, each one
 * whose recipient conditions match. A matching rule with {@code TlsPolicy Require} refuses the recipient of a session
 * without TLS. A Stop action ends the account's chain after it, a Bounce action too (the message bounces for the
 * recipient: its later actions do not run). No matching rule: the account does not receive this recipient.
 *
 * <p>The recipient is accepted when some account's chain ends without a Bounce; it bounces (with the first chain's
 * Bounce reply) when every chain ends in one; otherwise it is refused: TLS required (by some account's rule: a session
 * with TLS may be received), blocked by a filter (when every account's filters block the client: one account's
 * filters are not told to the senders of another's mail), or no rule.
 */
public final class ReceiptPlan {
  /** The largest message an SNS action posts (SES's limit); a larger one bounces. */
  public static final int MAX_SNS_BYTES = 150 * 1024;

  /** A rule of a chain and the actions it runs: all of them, or up to its Stop or Bounce. */
  public record Step(ReceiptRule rule, List<ReceiptAction> actions) {}

  /** One account's part: its steps, and the Bounce that ends them, or null. */
  public record Chain(AccountRules account, List<Step> steps, ReceiptAction.Bounce bounce) {
    /** Whether the chain runs an action that needs the message (anything but a bare Bounce or Stop). */
    boolean needsContent() {
      for (Step s : steps) {
        for (ReceiptAction a : s.actions()) {
          if (!(a instanceof ReceiptAction.Stop) && !(a instanceof ReceiptAction.Bounce) || a.topicArn() != null) {
            return true;
          }
        }
      }
      return false;
    }

    /** Whether the chain keeps a copy of the message (an S3 action), in the account's share of the database. */
    public boolean stores() {
      return steps.stream().anyMatch(s -> s.actions().stream().anyMatch(a -> a instanceof ReceiptAction.S3));
    }

    boolean posts() {
      return steps.stream().anyMatch(s -> s.actions().stream().anyMatch(a -> a instanceof ReceiptAction.Sns));
    }
  }

  /**
   * How the transaction ends for a recipient: accepted, or bounced with {@code bounce}; {@code snsLimited} when an
   * SNS action posts the message (larger than {@link #MAX_SNS_BYTES}, it bounces); {@code accounts}, whose rules run.
   * Recipients of one transaction must share their outcome: the end of DATA has one reply. They share their accounts
   * too: what one tenant's rules make of a message (a copy per S3 action, {@link MailReceiver#STORED_MESSAGES}) must
   * not refuse it for another tenant's recipients.
   */
  public record Outcome(SmtpReply bounce, boolean snsLimited, java.util.Set<String> accounts) {}

  private final String recipient;
  private final List<Chain> chains;
  private final SmtpReply refusal;

  private ReceiptPlan(String recipient, List<Chain> chains, SmtpReply refusal) {
    this.recipient = recipient;
    this.chains = chains;
    this.refusal = refusal;
  }

  static final SmtpReply NO_RULE = new SmtpReply(550, "5.1.1", "Requested action not taken: mailbox unavailable");
  static final SmtpReply TLS_REQUIRED = new SmtpReply(530, "5.7.0", "Must issue a STARTTLS command first");
  /**
   * A rule requires TLS and the server offers none (no certificate configured): not the sender's fault, and not for
   * good (RFC 3207's 454): the sender keeps the message and tries again, while the operator adds the certificate.
   */
  static final SmtpReply TLS_UNAVAILABLE = new SmtpReply(454, "4.7.0", "TLS not available due to temporary reason");
  static final SmtpReply BLOCKED = new SmtpReply(554, "5.7.1",
      "Message rejected: the sending server's address is blocked by a receipt filter");

  /**
   * The plan for {@code recipient} of a session with or without TLS, on a server that offers STARTTLS or not
   * ({@code tlsOffered}), from {@code client} (its address's bytes).
   */
  public static ReceiptPlan of(String recipient, List<AccountRules> receivers, boolean tls, boolean tlsOffered,
      byte[] client) {
    List<Chain> chains = new ArrayList<>();
    SmtpReply refusal = NO_RULE;
    int blocked = 0;
    for (AccountRules account : receivers) {
      if (account.blocks(client)) {
        blocked++;
        continue;
      }
      List<Step> steps = new ArrayList<>();
      ReceiptAction.Bounce bounce = null;
      boolean tlsRefused = false;
      boolean stopped = false;
      for (ReceiptRule rule : account.rules()) {
        if (!rule.enabled() || !rule.matches(recipient)) {
          continue;
        }
        if (rule.requiresTls() && !tls) {
          tlsRefused = true;
          break;
        }
        List<ReceiptAction> actions = new ArrayList<>();
        for (ReceiptAction a : rule.actions()) {
          actions.add(a);
          if (a instanceof ReceiptAction.Bounce b) {
            bounce = b;
            break;
          }
          if (a instanceof ReceiptAction.Stop) {
            stopped = true;
            break;
          }
        }
        steps.add(new Step(rule, List.copyOf(actions)));
        if (bounce != null || stopped) {
          break;
        }
      }
      if (tlsRefused) {
        refusal = tlsOffered ? TLS_REQUIRED : TLS_UNAVAILABLE;
      } else if (!steps.isEmpty()) {
        chains.add(new Chain(account, List.copyOf(steps), bounce));
      }
    }
    if (refusal == NO_RULE && blocked > 0 && blocked == receivers.size()) {
      refusal = BLOCKED; // only when every account blocks the client: one account's filter is no other's business
    }
    return new ReceiptPlan(recipient, List.copyOf(chains), chains.isEmpty() ? refusal : null);
  }

  public String recipient() {
    return recipient;
  }

  public List<Chain> chains() {
    return chains;
  }

  /** The same recipient refused with {@code reply}, for a reason the rules do not know (its account is full). */
  public ReceiptPlan refused(SmtpReply reply) {
    return new ReceiptPlan(recipient, chains, reply);
  }

  /** Why the recipient is refused, or null when it is received (accepted or bounced). */
  public SmtpReply refusal() {
    return refusal;
  }

  /** The recipient's outcome; only for a plan that is not refused. */
  public Outcome outcome() {
    SmtpReply bounce = null;
    boolean accepted = false;
    for (Chain c : chains) {
      if (c.bounce() == null) {
        accepted = true;
      } else if (bounce == null) {
        bounce = reply(c.bounce());
      }
    }
    return new Outcome(accepted ? null : bounce, chains.stream().anyMatch(Chain::posts),
        chains.stream().map(c -> c.account().accountId()).collect(java.util.stream.Collectors.toUnmodifiableSet()));
  }

  /**
   * The reply to RCPT TO: the refusal; the bounce itself when the recipient bounces and no action needs the message
   * (nothing to store or post first); else accepted.
   */
  public SmtpReply rcptReply() {
    if (refusal != null) {
      return refusal;
    }
    Outcome o = outcome();
    if (o.bounce() != null && chains.stream().noneMatch(Chain::needsContent)) {
      return o.bounce();
    }
    return SmtpReply.RECIPIENT_OK;
  }

  /**
   * A Bounce action's reply; its text is the action's message (up to 1,000 characters: on several lines when it does
   * not fit on one, RFC 5321's 512 octets), its status the action's or the code's generic one.
   */
  static SmtpReply reply(ReceiptAction.Bounce b) {
    int code = Integer.parseInt(b.smtpReplyCode());
    String status = b.statusCode() != null ? b.statusCode() : code / 100 + ".0.0";
    return SmtpReply.wrapped(code, status, b.message());
  }
}
