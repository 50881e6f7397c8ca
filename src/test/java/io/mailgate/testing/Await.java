package io.mailgate.testing;

import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Polls until a condition holds: for effects that happen asynchronously (delivery, events). */
public final class Await {
  private Await() {}

  public static <T> T until(Supplier<T> value, Predicate<T> condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = null;
    while (System.nanoTime() < deadline) {
      last = value.get();
      if (condition.test(last)) {
        return last;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
    throw new AssertionError("condition not met within " + timeout + "; last value: " + last);
  }

  /**
   * {@code call}, made again a quarter of a second later while the node throttles it (an operation of one call a second
   * per account: SES's TooManyRequestsException), up to 20 times.
   */
  public static <T> T paced(Supplier<T> call) {
    for (int i = 0; ; i++) {
      try {
        return call.get();
      } catch (software.amazon.awssdk.services.sesv2.model.TooManyRequestsException e) {
        if (i == 20) {
          throw e;
        }
        sleep(250);
      }
    }
  }

  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  public static void until(Supplier<Boolean> condition, Duration timeout) {
    until(condition, Boolean::booleanValue, timeout);
  }
}
