package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.SesException;
import io.mailgate.feedback.ValidationThreshold;
import io.vertx.core.json.JsonObject;

/**
 * Auto Validation's settings in SES's JSON: the account's {@code ValidationAttributes} and a configuration set's
 * {@code ValidationOptions}, both {@code {"ConditionThreshold": {"ConditionThresholdEnabled": "ENABLED" | "DISABLED",
 * "OverallConfidenceThreshold": {"ConfidenceVerdictThreshold": "MEDIUM" | "HIGH" | "MANAGED"}}}}.
 */
final class ValidationSettings {
  private ValidationSettings() {}

  /** The setting in {@code holder} (the ValidationAttributes or ValidationOptions object, at {@code path}). */
  static ValidationThreshold parse(JsonObject holder, String path) {
    String at = path + ".ConditionThreshold";
    JsonObject condition = object(holder, "ConditionThreshold", path);
    if (condition == null) {
      throw SesException.badRequest("Missing required field " + at + ".");
    }
    String enabled = requiredString(condition, "ConditionThresholdEnabled", at);
    if (!enabled.equals("ENABLED") && !enabled.equals("DISABLED")) {
      throw SesException.badRequest("Invalid value for " + at + ".ConditionThresholdEnabled: " + enabled
          + " (ENABLED or DISABLED).");
    }
    JsonObject overall = object(condition, "OverallConfidenceThreshold", at);
    String threshold = null;
    if (overall != null) {
      threshold = requiredString(overall, "ConfidenceVerdictThreshold", at + ".OverallConfidenceThreshold");
      if (!ValidationThreshold.THRESHOLDS.contains(threshold)) {
        throw SesException.badRequest("Invalid value for " + at + ".OverallConfidenceThreshold."
            + "ConfidenceVerdictThreshold: " + threshold + " (MEDIUM, HIGH or MANAGED).");
      }
    }
    return new ValidationThreshold(enabled.equals("ENABLED"), threshold);
  }

  static JsonObject render(ValidationThreshold v) {
    JsonObject condition = new JsonObject().put("ConditionThresholdEnabled", v.enabled() ? "ENABLED" : "DISABLED");
    if (v.threshold() != null) {
      condition.put("OverallConfidenceThreshold", new JsonObject().put("ConfidenceVerdictThreshold", v.threshold()));
    }
    return new JsonObject().put("ConditionThreshold", condition);
  }
}
