package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.VertxOptions;
import io.vertx.core.WorkerExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.DkimSigningKeyLength;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.TooManyRequestsException;

/**
 * Easy DKIM keys are made on the node's key threads, not on the shared worker pool the rest of its blocking work
 * waits for; and at most {@link IdentityService#KEYS_PENDING} at a time wait or are made: beyond, a request is a 429
 * that creates nothing.
 */
class DkimKeyGenerationTest {

  /** The shared worker pool taken whole (by other blocking work): a domain identity gets its key all the same. */
  @Test
  void keysAreMadeWhileTheSharedWorkerPoolIsBusy() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.startProduction(relay.url(),
             c -> c.with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 3600))) {
      Accounts.NewKey a = node.createAccount("keys-busy", true, 100, 1000);
      int workers = VertxOptions.DEFAULT_WORKER_POOL_SIZE;
      CountDownLatch started = new CountDownLatch(workers);
      CountDownLatch release = new CountDownLatch(1);
      try (SesV2Client ses = node.sesV2(a.accessKeyId(), a.secretAccessKey())) {
        for (int i = 0; i < workers; i++) {
          node.vertx().executeBlocking(() -> {
            started.countDown();
            return release.await(60, TimeUnit.SECONDS);
          }, false);
        }
        assertTrue(started.await(30, TimeUnit.SECONDS), "every shared worker thread taken");
        CompletableFuture<String> created = CompletableFuture.supplyAsync(() -> ses.createEmailIdentity(r -> r
            .emailIdentity("busy.example").dkimSigningAttributes(d -> d.nextSigningKeyLength(
                DkimSigningKeyLength.RSA_2048_BIT))).dkimAttributes().tokens().get(0));
        try {
          assertFalse(created.get(20, TimeUnit.SECONDS).isEmpty());
        } finally {
          release.countDown();
        }
        assertEquals(DkimSigningKeyLength.RSA_2048_BIT, ses.getEmailIdentity(r -> r.emailIdentity("busy.example"))
            .dkimAttributes().currentSigningKeyLength());
      } finally {
        release.countDown();
      }
    }
  }

  /**
   * The key threads held (as by a burst of large keys): {@link IdentityService#KEYS_PENDING} creations wait for them,
   * those beyond are answered TooManyRequests at once and leave no identity; the waiting ones are created once the
   * threads are free.
   */
  @Test
  void keysBeyondThoseWaitingAreRefusedAndCreateNothing() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.startProduction(relay.url(),
             c -> c.with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 3600))) {
      Accounts.NewKey a = node.createAccount("keys-bound", true, 100, 1000);
      int extra = 4;
      int requests = IdentityService.KEYS_PENDING + extra;
      CountDownLatch started = new CountDownLatch(IdentityService.KEY_THREADS);
      CountDownLatch release = new CountDownLatch(1);
      // the node's pool of that name: its threads, taken here until released
      WorkerExecutor keyThreads = node.vertx().createSharedWorkerExecutor(IdentityService.KEY_THREADS_NAME,
          IdentityService.KEY_THREADS);
      ExecutorService callers = Executors.newFixedThreadPool(requests);
      try (SesV2Client ses = node.sesV2(a.accessKeyId(), a.secretAccessKey())) {
        List<String> tokens = ses.createEmailIdentity(r -> r.emailIdentity("kept.bound.example")).dkimAttributes()
            .tokens();
        for (int i = 0; i < IdentityService.KEY_THREADS; i++) {
          keyThreads.executeBlocking(() -> {
            started.countDown();
            return release.await(60, TimeUnit.SECONDS);
          }, false);
        }
        assertTrue(started.await(30, TimeUnit.SECONDS), "every key thread taken");
        List<String> names = new ArrayList<>();
        List<CompletableFuture<Boolean>> answers = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
          String name = "d" + i + ".bound.example";
          names.add(name);
          answers.add(CompletableFuture.supplyAsync(() -> {
            try {
              ses.createEmailIdentity(r -> r.emailIdentity(name));
              return true;
            } catch (TooManyRequestsException refused) {
              assertTrue(refused.awsErrorDetails().errorMessage().startsWith("Too many DKIM keys"),
                  refused.getMessage());
              assertEquals(429, refused.statusCode());
              return false;
            }
          }, callers));
        }
        try {
          // those refused are answered while the others wait
          Await.until(() -> answers.stream().filter(f -> f.isDone()).count(), n -> n >= extra,
              Duration.ofSeconds(20));
          for (CompletableFuture<Boolean> f : answers) {
            assertTrue(!f.isDone() || !f.join(), "created while every key thread was taken");
          }
          // a new key for a domain, refused as well: its key is left as it was
          TooManyRequestsException refused = assertThrows(TooManyRequestsException.class,
              () -> ses.putEmailIdentityDkimSigningAttributes(r -> r.emailIdentity("kept.bound.example")
                  .signingAttributesOrigin("AWS_SES").signingAttributes(k -> k.nextSigningKeyLength(
                      DkimSigningKeyLength.RSA_1024_BIT))));
          assertEquals(429, refused.statusCode());
          assertEquals(tokens, ses.getEmailIdentity(r -> r.emailIdentity("kept.bound.example")).dkimAttributes()
              .tokens());
        } finally {
          release.countDown();
        }
        int created = 0;
        for (int i = 0; i < requests; i++) {
          String name = names.get(i);
          if (answers.get(i).get(30, TimeUnit.SECONDS)) {
            created++;
            assertFalse(ses.getEmailIdentity(r -> r.emailIdentity(name)).dkimAttributes().tokens().isEmpty());
          } else {
            assertThrows(NotFoundException.class, () -> ses.getEmailIdentity(r -> r.emailIdentity(name)),
                "a refused request creates nothing: " + name);
          }
        }
        assertEquals(IdentityService.KEYS_PENDING, created);
        // the count went down with the keys made: a request now is made at once
        ses.createEmailIdentity(r -> r.emailIdentity("after.bound.example"));
      } finally {
        release.countDown();
        callers.shutdownNow();
        keyThreads.close();
      }
    }
  }
}
