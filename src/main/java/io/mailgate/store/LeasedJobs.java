package io.mailgate.store;

import io.vertx.core.Future;
import java.time.Instant;

/** Jobs a node takes one at a time under a lease ({@link JobLeases}): export jobs, import jobs. */
public interface LeasedJobs<J> {
  /** The oldest job waiting (or whose holder's lease expired), now {@code owner}'s until {@code until}; or null. */
  Future<J> claim(String owner, Instant now, Instant until);

  /** Gives the jobs {@code owner} holds back to wait again. */
  Future<Void> release(String owner);
}
