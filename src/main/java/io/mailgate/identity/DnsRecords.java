package io.mailgate.identity;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.dns.DnsClient;
import io.vertx.core.dns.DnsClientOptions;
import io.vertx.core.dns.DnsException;
import io.vertx.core.dns.DnsResponseCode;
import io.vertx.core.dns.MxRecord;
import java.util.List;

/**
 * The DNS lookups identity verification needs, through the Vert.x DNS client and the configured
 * resolver. A name that does not exist, or has no record of the type, is an empty list; any other
 * failure (timeout, SERVFAIL) fails the future, so a flaky resolver never un-verifies anything.
 */
public final class DnsRecords {
  private final DnsClient client;

  public DnsRecords(Vertx vertx, String servers) {
    DnsClientOptions options = new DnsClientOptions().setQueryTimeout(5_000).setRecursionDesired(true);
    if (servers != null && !servers.isBlank()) {
      String first = servers.split(",")[0].strip();
      int colon = first.lastIndexOf(':');
      options.setHost(colon > 0 ? first.substring(0, colon) : first)
          .setPort(colon > 0 ? Integer.parseInt(first.substring(colon + 1)) : 53);
    }
    this.client = vertx.createDnsClient(options);
  }

  public Future<List<String>> txt(String name) {
    return client.resolveTXT(name).recover(DnsRecords::noRecords);
  }

  public Future<List<String>> mxHosts(String name) {
    return client.resolveMX(name).map(list -> list.stream().map(MxRecord::name).toList()).recover(DnsRecords::noRecords);
  }

  public Future<Void> close() {
    return client.close();
  }

  private static <T> Future<List<T>> noRecords(Throwable e) {
    if (e instanceof DnsException d && d.code() == DnsResponseCode.NXDOMAIN) {
      return Future.succeededFuture(List.of());
    }
    return Future.failedFuture(e);
  }
}
