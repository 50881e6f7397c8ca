package io.mailgate;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.Callable;

/**
 * Work over a message's bytes (hashing, parsing, decoding, building, scanning) that is quick for the usual message but
 * holds an event loop for tens or hundreds of milliseconds for a large one: a 40 MB message is 54 MB of base64 in its
 * request, which takes 30-60 ms to hash, 40-80 ms to parse from JSON and as long again to decode. Below
 * {@link #BYTES} it runs at once on the calling thread (a worker hop would cost more than the work); above, on a
 * worker thread of the caller's context, unordered, and its future completes on the caller's event loop.
 */
public final class OffLoop {
  /** Above this many bytes, work over them goes to a worker thread: about a millisecond of parsing. */
  public static final int BYTES = 256 * 1024;

  private OffLoop() {}

  /** {@code work} over {@code size} bytes: here and now when small, on a worker thread when large. */
  public static <T> Future<T> when(long size, Callable<T> work) {
    Context context = Vertx.currentContext();
    if (size > BYTES && context != null) {
      return context.executeBlocking(work, false);
    }
    try {
      return Future.succeededFuture(work.call());
    } catch (Exception e) {
      return Future.failedFuture(e);
    }
  }
}
