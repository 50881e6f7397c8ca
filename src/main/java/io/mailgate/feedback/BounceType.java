package io.mailgate.feedback;

/** SES {@code bounceType}: whether the failure is about the address itself. */
public enum BounceType {
  /** The address cannot receive mail (gone, never existed, domain has no mail): suppress it. */
  PERMANENT("Permanent"),
  /** The address may work later or from another sender (full, blocked, content, delays). */
  TRANSIENT("Transient"),
  /** The report did not say enough to tell. */
  UNDETERMINED("Undetermined");

  private final String sesName;

  BounceType(String sesName) {
    this.sesName = sesName;
  }

  /** The value SES writes in bounce notifications, e.g. {@code Permanent}. */
  public String sesName() {
    return sesName;
  }

  /** Parses the SES spelling, case-insensitively. */
  public static BounceType fromSesName(String name) {
    for (BounceType t : values()) {
      if (t.sesName.equalsIgnoreCase(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown bounce type: " + name);
  }
}
