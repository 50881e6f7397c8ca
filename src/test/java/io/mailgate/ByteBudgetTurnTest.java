package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A large message refused by the delivery budget is not passed over for ever by small ones taken meanwhile: its
 * refusal reserves its room, which the small ones leave free until it comes back for it.
 */
class ByteBudgetTurnTest {
  static final long MB = 1024 * 1024;

  @Test
  void aRefusedLargeTakeGetsItsTurnBeforeSmallOnesFillTheBudget() {
    ByteBudget budget = new ByteBudget(64 * MB); // large takes may hold 60 MB
    for (int i = 0; i < 30; i++) {
      assertTrue(budget.take(MB / 2)); // 15 MB of small messages in flight
    }
    assertFalse(budget.takeInTurn("large", 50 * MB), "15 + 50 MB is more than large takes may hold");
    // small ones still go, but only within 60 - 50 = 10 MB: the 15 held already are more
    assertFalse(budget.take(MB / 2), "room is kept for the large one");
    for (int i = 0; i < 22; i++) {
      budget.release(MB / 2); // 11 MB given back: 4 MB held
    }
    assertTrue(budget.take(MB / 2), "4.5 MB beside the 50 reserved is within 60");
    assertTrue(budget.takeInTurn("large", 50 * MB), "its turn: 4.5 + 50 MB");
    assertEquals(54 * MB + MB / 2, budget.held());
    // its reservation is over: small ones go again up to the whole budget
    for (int i = 0; i < 9; i++) {
      assertTrue(budget.take(MB), "54.5 + " + (i + 1) + " MB of 64");
    }
    assertFalse(budget.take(MB));
  }

  @Test
  void whileReservedNothingElseGoesAloneAndTheReserverDoes() {
    ByteBudget budget = new ByteBudget(64 * MB);
    assertTrue(budget.take(MB));
    assertFalse(budget.takeInTurn("huge", 70 * MB), "more than the budget: only alone");
    budget.release(MB);
    assertFalse(budget.take(MB), "an empty budget is the reserver's turn, not the next small one's");
    assertTrue(budget.takeInTurn("huge", 70 * MB), "alone");
    budget.release(70 * MB);
    assertTrue(budget.take(MB), "the reservation ended with the take");
  }

  @Test
  void oneReservationAtATimeAndTheFirstKeepsIt() {
    ByteBudget budget = new ByteBudget(64 * MB);
    assertTrue(budget.take(40 * MB));
    assertFalse(budget.takeInTurn("first", 30 * MB));
    assertFalse(budget.takeInTurn("second", 10 * MB), "40 held + 10 would pass 60 - 30 reserved");
    budget.release(40 * MB);
    assertTrue(budget.takeInTurn("first", 30 * MB));
    assertTrue(budget.takeInTurn("second", 10 * MB));
  }
}
