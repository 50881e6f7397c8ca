package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.store.RecommendationStore.Finding;
import io.mailgate.store.RecommendationStore.Sums;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The advisor's judgement of bounce and complaint rates, and what an SPF record is. */
class VdmAdvisorTest {
  /** The impacts of the BOUNCE and COMPLAINT findings ("-" for none to fix). */
  static String rates(long sent, long bounced, long complaints, long toFeedbackLoops) {
    List<Finding> found = new ArrayList<>();
    VdmAdvisor.rates("a.example", new Sums(sent, bounced, complaints, toFeedbackLoops), 14, found);
    assertEquals(List.of(VdmAdvisor.BOUNCE, VdmAdvisor.COMPLAINT), found.stream().map(Finding::type).toList());
    return found.stream().map(f -> f.description() == null ? "-" : f.impact()).reduce((a, b) -> a + " " + b)
        .orElseThrow();
  }

  @Test
  void ratesAreJudgedAtSesLevelsOnceThereIsEnoughMail() {
    assertEquals("- -", rates(99, 99, 99, 99), "below 100 messages: nothing to judge by");
    assertEquals("- -", rates(0, 0, 0, 0));
    assertEquals("- -", rates(100, 1, 0, 100));
    assertEquals("LOW -", rates(100, 2, 0, 100));
    assertEquals("LOW -", rates(1000, 49, 0, 1000));
    assertEquals("HIGH -", rates(1000, 50, 0, 1000));
    assertEquals("- -", rates(1000, 0, 0, 1000));
    assertEquals("- LOW", rates(1000, 0, 1, 1000));
    assertEquals("- -", rates(10_000, 0, 9, 10_000));
    assertEquals("- HIGH", rates(1000, 0, 5, 1000));
    assertEquals("- -", rates(1000, 0, 5, 99), "complaints judged by the deliveries to feedback loops");
    List<Finding> found = new ArrayList<>();
    VdmAdvisor.rates("a.example", null, 14, found);
    assertTrue(found.stream().allMatch(f -> f.description() == null), "no sums: nothing sent");
  }

  /** Identities go a few at a time: every one of many is judged, in order. */
  @Test
  void everyIdentityOfManyIsJudged() {
    List<io.mailgate.identity.Identity> many = new ArrayList<>();
    for (int i = 0; i < VdmAdvisor.AT_ONCE * 2 + 3; i++) {
      many.add(new io.mailgate.identity.Identity("a1", "s" + i + "@a.example", io.mailgate.identity.Identity.Type
          .EMAIL_ADDRESS, io.mailgate.identity.Identity.Status.SUCCESS, false, null, null, null, null, null, null,
          null, null, null, null, null, null, null));
    }
    List<Finding> found = new VdmAdvisor(null, "").advise(many, java.util.Map.of("s7@a.example",
        new Sums(1000, 100, 0, 0)), 14).toCompletionStage().toCompletableFuture().join();
    assertEquals(many.size() * 2, found.size());
    assertEquals("s34@a.example", found.get(found.size() - 1).identity());
    assertEquals(List.of("s7@a.example"), found.stream().filter(f -> f.description() != null)
        .map(Finding::identity).toList());
  }

  @Test
  void anSpfRecordIsVersionOneAndNothingElse() {
    assertTrue(VdmAdvisor.isSpf("v=spf1 -all"));
    assertTrue(VdmAdvisor.isSpf("V=SPF1 include:_spf.example.com ~all"));
    assertTrue(VdmAdvisor.isSpf("v=spf1"));
    assertFalse(VdmAdvisor.isSpf("v=spf10 -all"));
    assertFalse(VdmAdvisor.isSpf("spf2.0/pra -all"));
    assertFalse(VdmAdvisor.isSpf("google-site-verification=v=spf1"));
  }
}
