package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EventType;

/**
 * README (Events): disabling or deleting a destination drops the events still waiting for it, and a changed URL
 * applies to what is still waiting. Events a node has claimed and holds (its destination's share of posts is taken by
 * a slow receiver) included: they kept the URL and enabled flag read at their claim, and went to the old URL after
 * UpdateConfigurationSetEventDestination moved it, or to a destination since disabled or deleted. A node reads again
 * what it holds events for once what it read is a second old: the second after a change is left out.
 */
class HeldEventsFollowDestinationTest {

  @Test
  void eventsStillWaitingGoToTheNewUrlNotTheOldOne() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         WebhookReceiver webhook = new WebhookReceiver();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 4));
         SesV2Client ses = node.sesV2()) {
      held(ses, webhook, "moving", "/old");
      Await.until(() -> webhook.posts("/old").size() >= 2, Duration.ofSeconds(20));
      ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("moving").eventDestinationName("d")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
              .snsDestination(s -> s.topicArn(webhook.url("/new")))));
      afterTheSecondItMayTake();
      int atUpdate = webhook.posts("/old").size();
      Await.until(() -> webhook.posts("/old").size() + webhook.posts("/new").size() >= 12, Duration.ofSeconds(60));
      Thread.sleep(2000);
      assertEquals(0, webhook.posts("/old").size() - atUpdate,
          "events still waiting when the URL changed were posted to the old URL a second after the change ("
              + atUpdate + " before, " + webhook.posts("/new").size() + " to the new URL)");
    }
  }

  @Test
  void eventsStillWaitingAreNotPostedOnceTheirDestinationIsDeleted() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         WebhookReceiver webhook = new WebhookReceiver();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 4));
         SesV2Client ses = node.sesV2()) {
      held(ses, webhook, "deleting", "/gone");
      Await.until(() -> webhook.posts("/gone").size() >= 2, Duration.ofSeconds(20));
      ses.deleteConfigurationSetEventDestination(r -> r.configurationSetName("deleting").eventDestinationName("d"));
      afterTheSecondItMayTake();
      int atDelete = webhook.posts("/gone").size();
      Thread.sleep(6_000); // two posts every 1.5 s, were they still made
      assertEquals(0, webhook.posts("/gone").size() - atDelete,
          "events were posted to a destination a second after DeleteConfigurationSetEventDestination returned");
    }
  }

  @Test
  void eventsStillWaitingAreNotPostedOnceTheirDestinationIsDisabled() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         WebhookReceiver webhook = new WebhookReceiver();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 4));
         SesV2Client ses = node.sesV2()) {
      held(ses, webhook, "disabling", "/off");
      Await.until(() -> webhook.posts("/off").size() >= 2, Duration.ofSeconds(20));
      ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("disabling").eventDestinationName("d")
          .eventDestination(d -> d.enabled(false)));
      afterTheSecondItMayTake();
      int atDisable = webhook.posts("/off").size();
      Thread.sleep(6_000); // two posts every 1.5 s, were they still made
      assertEquals(0, webhook.posts("/off").size() - atDisable,
          "events were posted to a destination a second after UpdateConfigurationSetEventDestination disabled it");
    }
  }

  @Test
  void eventsStillWaitingOfATypeTakenOutAreNotPosted() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         WebhookReceiver webhook = new WebhookReceiver();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 4));
         SesV2Client ses = node.sesV2()) {
      held(ses, webhook, "retyping", "/types");
      Await.until(() -> sends(webhook) >= 2, Duration.ofSeconds(20));
      ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("retyping").eventDestinationName("d")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.DELIVERY)));
      afterTheSecondItMayTake();
      long atChange = sends(webhook);
      Thread.sleep(6_000); // two posts every 1.5 s, were they still made
      assertEquals(0, sends(webhook) - atChange,
          "Send events were posted a second after UpdateConfigurationSetEventDestination took Send out of the "
              + "destination");
    }
  }

  /**
   * A configuration set {@code set} whose one destination takes Send events to {@code path}, a slow receiver (1.5 s a
   * post, two at a time with events.concurrency 4): of twelve sends' events, the first two are under way and the rest
   * held by the node.
   */
  private static void held(SesV2Client ses, WebhookReceiver webhook, String set, String path) {
    webhook.delay(path, 1500);
    ses.createConfigurationSet(r -> r.configurationSetName(set));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName("d")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
            .snsDestination(s -> s.topicArn(webhook.url(path)))));
    for (int i = 0; i < 12; i++) {
      ses.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses("a@example.org"))
          .configurationSetName(set)
          .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("x"))))));
    }
  }

  /**
   * What a node read of a destination is used for up to a second (EventPublisherVerticle.CHECKED_NANOS, README): a
   * post begun within the second after the change, from a claim or read just before it, may still go as before. Once
   * that second (and a margin for the post to arrive) is over, no post may.
   */
  private static void afterTheSecondItMayTake() throws InterruptedException {
    Thread.sleep(EventPublisherVerticle.CHECKED_NANOS / 1_000_000 + 500);
  }

  private static long sends(WebhookReceiver webhook) {
    return webhook.posts("/types").stream().filter(p -> "Send".equals(p.json().getString("eventType"))).count();
  }
}
