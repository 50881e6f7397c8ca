package io.mailgate;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.function.Supplier;

/**
 * Asynchronous steps made one after the other, as long as each says to go on, without nesting: a chain of
 * {@code compose} calls, one per step, completes as one nested call per step when its last step completes, and a
 * walk of many thousand steps would overflow the stack there. Here a step that completed at once is followed in a
 * loop, and one that completes later is followed from its completion, on a fresh stack.
 */
public final class AsyncLoop {
  private AsyncLoop() {}

  /** Makes {@code step} until its future gives false; fails with the first step that fails (or throws). */
  public static Future<Void> whileTrue(Supplier<Future<Boolean>> step) {
    Promise<Void> done = Promise.promise();
    run(step, done);
    return done.future();
  }

  private static void run(Supplier<Future<Boolean>> step, Promise<Void> done) {
    while (true) {
      Future<Boolean> next;
      try {
        next = step.get();
      } catch (RuntimeException e) {
        done.fail(e);
        return;
      }
      if (!next.isComplete()) {
        next.onComplete(ar -> {
          if (ar.failed()) {
            done.fail(ar.cause());
          } else if (ar.result()) {
            run(step, done);
          } else {
            done.complete();
          }
        });
        return;
      }
      if (next.failed()) {
        done.fail(next.cause());
        return;
      }
      if (!next.result()) {
        done.complete();
        return;
      }
    }
  }
}
