package io.mailgate.delivery;

import java.util.Locale;

/**
 * SES's mailbox simulator: recipients at {@code simulator.amazonses.com} never leave the machine
 * and get the answer SES gives. {@code success} is delivered; {@code bounce} bounces with
 * 550 5.1.1; {@code ooto} is delivered and an auto-reply comes back to the return path;
 * {@code complaint} is delivered and a complaint comes back; {@code suppressionlist} bounces as an
 * address on the global suppression list. {@code +label} variants behave the same.
 */
public final class Simulator {
  public static final String DOMAIN = "simulator.amazonses.com";
  static final String HOST = "simulator.amazonses.com";

  /** What comes back after a simulated delivery. */
  public enum FollowUp { NONE, AUTO_REPLY, COMPLAINT }

  private Simulator() {}

  private static final String AT_DOMAIN = "@" + DOMAIN;

  /** True for an address at the simulator's domain, in any case (checked for every recipient: no copies). */
  public static boolean handles(String recipient) {
    int from = recipient.length() - AT_DOMAIN.length();
    return from >= 0 && recipient.regionMatches(true, from, AT_DOMAIN, 0, AT_DOMAIN.length());
  }

  static String mailbox(String recipient) {
    String local = recipient.substring(0, recipient.lastIndexOf('@')).toLowerCase(Locale.ROOT);
    int plus = local.indexOf('+');
    return plus < 0 ? local : local.substring(0, plus);
  }

  static AttemptResult attempt(String recipient) {
    return switch (mailbox(recipient)) {
      case "success", "ooto", "complaint" -> new AttemptResult.Delivered(
          new SmtpResponse(250, "2.6.0", "Message received (mailbox simulator)"), HOST);
      case "suppressionlist" -> new AttemptResult.Suppressed(true);
      default -> new AttemptResult.Rejected(new SmtpResponse(550, "5.1.1",
          "<" + recipient + ">: Recipient address rejected: User unknown in mailbox simulator"), HOST);
    };
  }

  /** The simulator takes mail for this address of its domain: success, ooto and complaint do, the others not. */
  public static boolean accepts(String recipient) {
    return attempt(recipient) instanceof AttemptResult.Delivered;
  }

  public static FollowUp followUp(String recipient) {
    return switch (mailbox(recipient)) {
      case "ooto" -> FollowUp.AUTO_REPLY;
      case "complaint" -> FollowUp.COMPLAINT;
      default -> FollowUp.NONE;
    };
  }
}
