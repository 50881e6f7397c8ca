package io.mailgate.delivery;

/** What becomes of a recipient after an attempt. */
public enum Disposition {
  /** Accepted by the receiving server: done. */
  DELIVERED,
  /** Refused for good (5xx, or a domain that cannot receive mail): done, a bounce. */
  BOUNCED,
  /** A soft failure with time left: tried again later, a DeliveryDelay event. */
  DEFERRED,
  /** A soft failure past the message's maximum delivery time: done, a Transient bounce. */
  EXPIRED,
  /** Not attempted (the destination is paused): back to the queue, no event. */
  RESCHEDULED
}
