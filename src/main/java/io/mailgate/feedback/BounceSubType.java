package io.mailgate.feedback;

/** SES {@code bounceSubType}; each belongs to exactly one {@link BounceType}. */
public enum BounceSubType {
  GENERAL("General", null),
  NO_EMAIL("NoEmail", BounceType.PERMANENT),
  SUPPRESSED("Suppressed", BounceType.PERMANENT),
  ON_ACCOUNT_SUPPRESSION_LIST("OnAccountSuppressionList", BounceType.PERMANENT),
  MAILBOX_FULL("MailboxFull", BounceType.TRANSIENT),
  MESSAGE_TOO_LARGE("MessageTooLarge", BounceType.TRANSIENT),
  CONTENT_REJECTED("ContentRejected", BounceType.TRANSIENT),
  ATTACHMENT_REJECTED("AttachmentRejected", BounceType.TRANSIENT),
  UNDETERMINED("Undetermined", BounceType.UNDETERMINED);

  private final String sesName;
  private final BounceType only;

  BounceSubType(String sesName, BounceType only) {
    this.sesName = sesName;
    this.only = only;
  }

  public String sesName() {
    return sesName;
  }

  /** Whether SES uses this sub-type with that type (General goes with Permanent and Transient). */
  public boolean belongsTo(BounceType type) {
    return only == null ? type != BounceType.UNDETERMINED : only == type;
  }

  public static BounceSubType fromSesName(String name) {
    for (BounceSubType s : values()) {
      if (s.sesName.equalsIgnoreCase(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown bounce sub-type: " + name);
  }
}
