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
  /**
   * The BOUNCE and COMPLAINT findings: their impacts, "-" for nothing to fix, "x" for withdrawn, "=" for no finding
   * (as it was).
   */
  static String rates(long sent, long bounced, long complaints, long toFeedbackLoops) {
    List<Finding> found = new ArrayList<>();
    VdmAdvisor.rates("a.example", new Sums(sent, bounced, complaints, toFeedbackLoops), 14, found);
    return shown(found);
  }

  static String shown(List<Finding> found) {
    StringBuilder out = new StringBuilder();
    for (String type : List.of(VdmAdvisor.BOUNCE, VdmAdvisor.COMPLAINT)) {
      List<Finding> of = found.stream().filter(f -> f.type().equals(type)).toList();
      assertTrue(of.size() <= 1, found.toString());
      out.append(out.length() == 0 ? "" : " ").append(of.isEmpty() ? "=" : of.get(0).withdrawn() ? "x"
          : of.get(0).description() == null ? "-" : of.get(0).impact());
    }
    return out.toString();
  }

  @Test
  void ratesAreJudgedAtSesLevelsOnceThereIsEnoughMail() {
    assertEquals("= =", rates(99, 99, 99, 99), "below 100 messages: nothing to judge by, left as it was");
    assertEquals("x x", rates(0, 0, 0, 0), "nothing sent: withdrawn");
    assertEquals("- x", rates(100, 1, 0, 0));
    assertEquals("- -", rates(100, 1, 0, 100));
    assertEquals("LOW -", rates(100, 2, 0, 100));
    assertEquals("LOW -", rates(1000, 49, 0, 1000));
    assertEquals("HIGH -", rates(1000, 50, 0, 1000));
    assertEquals("- -", rates(1000, 0, 0, 1000));
    assertEquals("- LOW", rates(1000, 0, 1, 1000));
    assertEquals("- -", rates(10_000, 0, 9, 10_000));
    assertEquals("- HIGH", rates(1000, 0, 5, 1000));
    assertEquals("- =", rates(1000, 0, 5, 99), "complaints judged by the deliveries to feedback loops");
    List<Finding> found = new ArrayList<>();
    VdmAdvisor.rates("a.example", null, 14, found);
    assertEquals("x x", shown(found), "no sums: nothing sent");
  }

  /** A description says the level reached, not the live figures: it changes only when the level does. */
  @Test
  void descriptionsChangeWithTheLevelOnly() {
    List<Finding> a = new ArrayList<>();
    VdmAdvisor.rates("a.example", new Sums(1000, 25, 2, 1000), 14, a);
    List<Finding> b = new ArrayList<>();
    VdmAdvisor.rates("a.example", new Sums(1200, 40, 4, 1100), 14, b);
    assertEquals(a, b);
    assertTrue(a.get(0).description().startsWith("2 % or more of the mail sent from a.example over the last 14 days"),
        a.get(0).description());
    List<Finding> c = new ArrayList<>();
    VdmAdvisor.rates("a.example", new Sums(1000, 60, 6, 1000), 14, c);
    assertTrue(c.get(0).description().startsWith("5 % or more"), c.get(0).description());
    assertTrue(c.get(1).description().startsWith("0.5 % or more"), c.get(1).description());
  }

  /** Identities go a few at a time: every one of many is judged, in order, without a frame per identity. */
  @Test
  void everyIdentityOfManyIsJudged() {
    List<io.mailgate.identity.Identity> many = new ArrayList<>();
    for (int i = 0; i < 50_000; i++) {
      many.add(new io.mailgate.identity.Identity("a1", "s" + i + "@a.example", io.mailgate.identity.Identity.Type
          .EMAIL_ADDRESS, io.mailgate.identity.Identity.Status.SUCCESS, false, null, null, null, null, null, null,
          null, null, null, null, null, null, null));
    }
    List<Finding> found = new VdmAdvisor(null, "").advise(many, java.util.Map.of("s7@a.example",
        new Sums(1000, 100, 0, 0)), 14).toCompletionStage().toCompletableFuture().join();
    assertEquals(many.size() * 2, found.size());
    assertEquals("s49999@a.example", found.get(found.size() - 1).identity());
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
