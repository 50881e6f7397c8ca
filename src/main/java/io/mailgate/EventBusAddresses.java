package io.mailgate;

/** Every event bus address, in one place. Messages are Java records sent with {@link LocalCodec}. */
public final class EventBusAddresses {
  private EventBusAddresses() {}

  /** {@code SiteTokenRequest} -> {@code SiteTokens}: delivery tokens from a site's bucket shared by all nodes. */
  public static final String SITE_TOKENS = "mailgate.rate.site";
  /** {@code SiteThrottleRequest} -> {@code SiteThrottleState}: a site asked to slow down, for all nodes. */
  public static final String SITE_THROTTLE = "mailgate.rate.site.throttle";
  /** {@code DeliveryJob}: a committed message whose recipients this node holds the lease for. */
  public static final String SEND_ACCEPTED = "mailgate.send.accepted";
  /** {@code DeliveryOutcome}: the result of one recipient's delivery attempt. */
  public static final String DELIVERY_OUTCOME = "mailgate.delivery.outcome";
  /** {@code InboundMail}: a message received for a bounce domain (bounce, complaint, auto-reply). */
  public static final String FEEDBACK_INBOUND = "mailgate.feedback.inbound";
  /** {@code "<account>\n<identity>"}, published when an identity changes: caches drop it at once. */
  public static final String IDENTITY_CHANGED = "mailgate.identity.changed";
  /**
   * {@code "<account>\n<tenant>"}, published when a tenant, its associations or its sending status changed on this
   * node: the send paths' cached view of it is dropped at once (other nodes' within {@code cache.ttlMillis}).
   */
  public static final String TENANT_CHANGED = "mailgate.tenant.changed";
  /** {@code "<account>"}, published when one of the account's identities' notification topics or settings changed. */
  public static final String IDENTITY_TOPICS_CHANGED = "mailgate.identity.topics.changed";
  /** Nothing: an export job was created on this node, for its {@code ExportVerticle} to take at once. */
  public static final String EXPORT_CREATED = "mailgate.export.created";
  /** Nothing: an import job was created on this node, for its {@code ImportVerticle} to take at once. */
  public static final String IMPORT_CREATED = "mailgate.import.created";
  /** start-dev only: {@code CaptureQuery} -> JSON array of captured messages. */
  public static final String DEV_CAPTURED = "mailgate.dev.captured";
}
