package io.mailgate.events;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/**
 * What SNS posts to an HTTP or HTTPS subscription, for endpoints written for SES's events through SNS (django-ses,
 * listmonk, Mautic, bounce processors), named with an {@code sns+https} URL: a {@code Notification} whose
 * {@code Message} is the event (or notification) as a string, with SNS's {@code x-amz-sns-*} headers. Its SNS
 * signature fields are empty: an SNS signature is checked against a certificate that AWS serves, so a receiver checks
 * the post's Standard Webhooks signature instead (with its SNS check turned off).
 */
final class SnsEnvelope {
  private SnsEnvelope() {}

  /** The topic every post of an account names (a receiver's list of topics it takes holds one per account). */
  static String topicArn(String region, String accountId) {
    return "arn:aws:sns:" + region + ":" + accountId + ":mailgate";
  }

  /** A UUID, as SNS's are, the same on every attempt of one post ({@code id}): receivers drop repeats by it. */
  static String messageId(String id) {
    return UUID.nameUUIDFromBytes(id.getBytes(StandardCharsets.UTF_8)).toString();
  }

  static Buffer of(String id, String region, String accountId, Buffer message, Instant now) {
    return new JsonObject()
        .put("Type", "Notification")
        .put("MessageId", messageId(id))
        .put("TopicArn", topicArn(region, accountId))
        .put("Message", message.toString(StandardCharsets.UTF_8))
        .put("Timestamp", SesEvents.time(now))
        .put("SignatureVersion", "1")
        .put("Signature", "")
        .put("SigningCertURL", "")
        .put("UnsubscribeURL", "")
        .toBuffer();
  }

  static void headers(MultiMap headers, String id, String region, String accountId) {
    headers.set("x-amz-sns-message-type", "Notification")
        .set("x-amz-sns-message-id", messageId(id))
        .set("x-amz-sns-topic-arn", topicArn(region, accountId));
  }
}
