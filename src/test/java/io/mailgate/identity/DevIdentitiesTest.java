package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.time.Duration;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.DkimStatus;
import software.amazon.awssdk.services.sesv2.model.VerificationStatus;

/**
 * In start-dev, identities verify themselves at once and stay verified: the DNS where their records
 * would be published is not checked (a dev machine's DNS has none of them), so a domain keeps
 * signing with DKIM however long the node runs.
 */
class DevIdentitiesTest {

  @Test
  void autoVerifiedDomainKeepsSigningAfterDnsChecksWouldHaveRun() throws Exception {
    // a DNS server that knows none of the domain's records: a check would find no DKIM key
    try (FakeDnsServer dns = FakeDnsServer.start();
         RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c
             .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
             .with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 1));
         SesV2Client ses = node.sesV2()) {
      assertEquals(DkimStatus.SUCCESS, ses.createEmailIdentity(r -> r.emailIdentity("dev-signed.example"))
          .dkimAttributes().status());
      Thread.sleep(3000); // several check intervals
      var identity = ses.getEmailIdentity(r -> r.emailIdentity("dev-signed.example"));
      assertEquals(VerificationStatus.SUCCESS, identity.verificationStatus());
      assertEquals(DkimStatus.SUCCESS, identity.dkimAttributes().status());
      ses.sendEmail(r -> r.fromEmailAddress("a@dev-signed.example").destination(d -> d.toAddresses("b@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("still signed")).body(b -> b.text(t -> t.data("x"))))));
      String text = Await.until(() -> relay.received().stream().filter(m -> m.text().contains("still signed"))
          .findFirst().orElse(null), Objects::nonNull, Duration.ofSeconds(20)).text();
      assertTrue(text.startsWith("DKIM-Signature:") && text.contains("d=dev-signed.example;"), text);
    }
  }
}
