package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.SmtpCredentials;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EventType;

/**
 * A stopping node lets what its front has under way finish all at once, not one listener after another: a submission
 * and an inbound SMTP transaction in the middle of their DATA, and a webhook post that hangs, cost 10 s together,
 * where in turn (with SMTP's former 30 s) they cost over a minute, past a container's grace.
 */
class FrontStopTest {

  @Test
  void theFrontStopsTogether() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer(); WebhookReceiver hooks = new WebhookReceiver()) {
      TestNode node = TestNode.start(relay.url());
      boolean closed = false;
      try {
        try (SesV2Client ses = node.sesV2()) {
          ses.createConfigurationSet(r -> r.configurationSetName("stopping"));
          ses.createConfigurationSetEventDestination(r -> r.configurationSetName("stopping").eventDestinationName("hook")
              .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
                  .snsDestination(s -> s.topicArn(hooks.url("/hang")))));
          hooks.hang("/hang");
          ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses("a@dest.example"))
              .configurationSetName("stopping")
              .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t"))))));
        }
        Await.until(() -> !hooks.posts("/hang").isEmpty(), Duration.ofSeconds(20)); // the post under way, unanswered
        try (SmtpSubmissionTest.Session s = new SmtpSubmissionTest.Session(
            node.config().get(MailgateConfig.SMTP_SUBMISSION_PORT))) {
          s.command("EHLO client.test");
          assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET,
              node.config().get(MailgateConfig.REGION))).startsWith("235"));
          assertTrue(s.command("MAIL FROM:<sender@example.com>").startsWith("250"));
          assertTrue(s.command("RCPT TO:<b@dest.example>").startsWith("250"));
          assertTrue(s.command("DATA").startsWith("354"));
          s.write("Subject: half written\r\n\r\nthe first line, and no end yet\r\n");
          try (SmtpSubmissionTest.Session in = new SmtpSubmissionTest.Session(
              node.config().get(MailgateConfig.SMTP_INBOUND_PORT))) {
            in.command("EHLO mx.outside.example");
            assertTrue(in.command("MAIL FROM:<someone@outside.example>").startsWith("250"));
            String rcpt = in.command("RCPT TO:<Postmaster>");
            assertTrue(rcpt.startsWith("250"), rcpt);
            assertTrue(in.command("DATA").startsWith("354"));
            in.write("Subject: half written too\r\n\r\nno end yet\r\n");
            long start = System.nanoTime();
            node.close();
            closed = true;
            long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
            // each holds its 10 s: together 10, in turn 20 and more; and neither was cut off at once
            assertTrue(seconds >= 8 && seconds < 16, "the front stopped in " + seconds + " s");
          }
        }
      } finally {
        hooks.release("/hang");
        if (!closed) {
          node.close();
        }
      }
    }
  }
}
