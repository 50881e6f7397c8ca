package io.mailgate.receiving;

import io.vertx.core.json.JsonObject;

/**
 * One action of a receipt rule, as SES's v1 API names it and as it is stored ({@code receipt_rules.actions}, each as
 * {@code {"S3Action": {"BucketName": ...}}}). Mailgate runs S3 (stored in PostgreSQL, read back through the S3 API),
 * SNS (a webhook: the topic is its URL), Bounce, Stop and AddHeader; Lambda and WorkMail are refused when a rule is
 * written. A field not given is {@code null}.
 */
public sealed interface ReceiptAction {
  /** The notification's webhook, or {@code null}: every action but AddHeader may name one. */
  String topicArn();

  /** The action as stored and as the API describes it. */
  JsonObject toJson();

  /** Stores the message under {@code ObjectKeyPrefix + messageId} in the bucket. */
  record S3(String bucketName, String objectKeyPrefix, String topicArn, String iamRoleArn) implements ReceiptAction {
    public String objectKey(String messageId) {
      return (objectKeyPrefix == null ? "" : objectKeyPrefix) + messageId;
    }

    @Override
    public JsonObject toJson() {
      return wrap("S3Action", new JsonObject().put("BucketName", bucketName).put("ObjectKeyPrefix", objectKeyPrefix)
          .put("TopicArn", topicArn).put("IamRoleArn", iamRoleArn));
    }
  }

  /** Posts the notification with the message in it, as UTF-8 text or as Base64 ({@code encoding}). */
  record Sns(String topicArn, String encoding) implements ReceiptAction {
    public static final String UTF8 = "UTF-8";
    public static final String BASE64 = "Base64";

    @Override
    public JsonObject toJson() {
      return wrap("SNSAction", new JsonObject().put("TopicArn", topicArn).put("Encoding", encoding));
    }
  }

  /** Rejects the message for the rule's recipients with this reply (code, enhanced status, text). */
  record Bounce(String smtpReplyCode, String statusCode, String message, String sender, String topicArn)
      implements ReceiptAction {
    @Override
    public JsonObject toJson() {
      return wrap("BounceAction", new JsonObject().put("SmtpReplyCode", smtpReplyCode).put("StatusCode", statusCode)
          .put("Message", message).put("Sender", sender).put("TopicArn", topicArn));
    }
  }

  /** Ends the rule set for the rule's recipients: later rules do not see them. {@code scope} is {@code RuleSet}. */
  record Stop(String scope, String topicArn) implements ReceiptAction {
    @Override
    public JsonObject toJson() {
      return wrap("StopAction", new JsonObject().put("Scope", scope).put("TopicArn", topicArn));
    }
  }

  /** Adds a header to the message the later actions see. */
  record AddHeader(String headerName, String headerValue) implements ReceiptAction {
    @Override
    public String topicArn() {
      return null;
    }

    @Override
    public JsonObject toJson() {
      return wrap("AddHeaderAction", new JsonObject().put("HeaderName", headerName).put("HeaderValue", headerValue));
    }
  }

  /** An action read back from its stored JSON. */
  static ReceiptAction fromJson(JsonObject json) {
    JsonObject a;
    if ((a = json.getJsonObject("S3Action")) != null) {
      return new S3(a.getString("BucketName"), a.getString("ObjectKeyPrefix"), a.getString("TopicArn"),
          a.getString("IamRoleArn"));
    }
    if ((a = json.getJsonObject("SNSAction")) != null) {
      return new Sns(a.getString("TopicArn"), a.getString("Encoding", Sns.UTF8));
    }
    if ((a = json.getJsonObject("BounceAction")) != null) {
      return new Bounce(a.getString("SmtpReplyCode"), a.getString("StatusCode"), a.getString("Message"),
          a.getString("Sender"), a.getString("TopicArn"));
    }
    if ((a = json.getJsonObject("StopAction")) != null) {
      return new Stop(a.getString("Scope", "RuleSet"), a.getString("TopicArn"));
    }
    if ((a = json.getJsonObject("AddHeaderAction")) != null) {
      return new AddHeader(a.getString("HeaderName"), a.getString("HeaderValue"));
    }
    throw new IllegalArgumentException("not a receipt action: " + json.fieldNames());
  }

  private static JsonObject wrap(String type, JsonObject fields) {
    fields.getMap().values().removeIf(v -> v == null);
    return new JsonObject().put(type, fields);
  }
}
