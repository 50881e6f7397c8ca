package io.mailgate.feedback;

/**
 * How {@link BounceClassifier} judged one failure.
 *
 * @param type SES bounce type
 * @param subType SES bounce sub-type
 * @param reason the finer cause the delivery engine acts on, e.g. {@code userunknown}, {@code
 *     mailboxfull}, {@code ratelimited}, {@code blocked}, {@code expired}
 * @param rule where the deciding rule was written ({@code file:line}), for logs and support
 */
public record Classification(BounceType type, BounceSubType subType, String reason, String rule) {

  public Classification {
    if (!subType.belongsTo(type)) {
      throw new IllegalArgumentException(type.sesName() + "/" + subType.sesName() + " is not an SES combination");
    }
  }

  /** Permanent: the address should go on the suppression list. */
  public boolean isHardBounce() {
    return type == BounceType.PERMANENT;
  }
}
