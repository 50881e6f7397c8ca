package io.mailgate.configset;

import io.mailgate.feedback.ValidationThreshold;
import io.vertx.core.json.JsonArray;
import java.util.List;

/**
 * An SES configuration set: options that apply to every message sent with it. Null options mean
 * "the node's (delivery, tracking links) or the account's (suppression) setting".
 *
 * @param redirectDomain the custom domain of its open and click tracking links (SES CustomRedirectDomain)
 * @param httpsPolicy with a redirect domain: REQUIRE, REQUIRE_OPEN_ONLY or OPTIONAL
 * @param tracksOpens read, not set: an enabled event destination of the set takes Open events, so messages sent
 *     with it get an open pixel
 * @param tracksClicks likewise for Click events and the links of its messages
 * @param validation its Auto Validation setting (SuppressionOptions' ValidationOptions), null: the account's
 * @param engagementMetrics its VdmOptions' DashboardOptions.EngagementMetrics, ENABLED or DISABLED (null: the
 *     account's VdmAttributes decide): whether its messages get open and click trackers for VDM
 * @param signingScheme its MessageSecurityOptions: {@link #SMIME} (its messages are S/MIME-signed when their From
 *     address has a certificate), or null (DefaultScheme)
 */
public record ConfigurationSet(String accountId, String name, String tlsPolicy, Integer maxDeliverySeconds,
    String sendingPoolName, boolean sendingEnabled, List<String> suppressedReasons, JsonArray tags,
    String redirectDomain, String httpsPolicy, boolean tracksOpens, boolean tracksClicks,
    ValidationThreshold validation, String engagementMetrics, String signingScheme) {
  public static final String SMIME = "SMIME";


  /** A new set with these options and no tracking domain. */
  public static ConfigurationSet of(String accountId, String name, String tlsPolicy, Integer maxDeliverySeconds,
      String sendingPoolName, boolean sendingEnabled, List<String> suppressedReasons, JsonArray tags) {
    return new ConfigurationSet(accountId, name, tlsPolicy, maxDeliverySeconds, sendingPoolName, sendingEnabled,
        suppressedReasons, tags, null, null, false, false, null, null, null);
  }

  public ConfigurationSet withTracking(String domain, String policy) {
    return new ConfigurationSet(accountId, name, tlsPolicy, maxDeliverySeconds, sendingPoolName, sendingEnabled,
        suppressedReasons, tags, domain, policy, tracksOpens, tracksClicks, validation, engagementMetrics,
        signingScheme);
  }

  public ConfigurationSet withValidation(ValidationThreshold v) {
    return new ConfigurationSet(accountId, name, tlsPolicy, maxDeliverySeconds, sendingPoolName, sendingEnabled,
        suppressedReasons, tags, redirectDomain, httpsPolicy, tracksOpens, tracksClicks, v, engagementMetrics,
        signingScheme);
  }

  public ConfigurationSet withSigningScheme(String scheme) {
    return new ConfigurationSet(accountId, name, tlsPolicy, maxDeliverySeconds, sendingPoolName, sendingEnabled,
        suppressedReasons, tags, redirectDomain, httpsPolicy, tracksOpens, tracksClicks, validation, engagementMetrics,
        scheme);
  }

  public ConfigurationSet withEngagementMetrics(String status) {
    return new ConfigurationSet(accountId, name, tlsPolicy, maxDeliverySeconds, sendingPoolName, sendingEnabled,
        suppressedReasons, tags, redirectDomain, httpsPolicy, tracksOpens, tracksClicks, validation, status,
        signingScheme);
  }
}
