package io.mailgate.testing;

import io.vertx.core.Context;
import io.vertx.core.Future;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/** Runs test code on a Vert.x context's event loop, as a verticle would, and hands back what its future comes to. */
public final class OnLoop {
  private OnLoop() {}

  /** Starts {@code action} on {@code context}; completes as the future it returns does. */
  public static <T> CompletableFuture<T> start(Context context, Supplier<? extends Future<T>> action) {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> action.get().onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        result.completeExceptionally(ar.cause());
      }
    }));
    return result;
  }
}
