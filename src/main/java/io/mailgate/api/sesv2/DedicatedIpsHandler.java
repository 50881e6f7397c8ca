package io.mailgate.api.sesv2;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.delivery.SendingPools;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SES v2's dedicated IP operations over the node's sending pools ({@code delivery.sendingPools}) and the addresses
 * delivery connections leave from (a pool's {@code source=} addresses, else {@code delivery.sourceAddresses}):
 * ListDedicatedIpPools ({@code GET /v2/email/dedicated-ip-pools}), GetDedicatedIpPool
 * ({@code GET /v2/email/dedicated-ip-pools/{PoolName}}), GetDedicatedIps ({@code GET /v2/email/dedicated-ips}, all or
 * one pool's) and GetDedicatedIp ({@code GET /v2/email/dedicated-ips/{IP}}). Pools and addresses are the operator's
 * configuration, the same for every account: the operations that would change them (CreateDedicatedIpPool,
 * DeleteDedicatedIpPool, PutDedicatedIpInPool, PutDedicatedIpWarmupAttributes, PutDedicatedIpPoolScalingAttributes)
 * are refused with a BadRequest that says so, where SES would also answer NotFound or AlreadyExists. An address is
 * in use from the start (no warm-up): {@code DONE}, 100 %. An address may be in several pools (SES: one); it is
 * listed in each pool's, and GetDedicatedIp and the whole list name the first.
 */
public final class DedicatedIpsHandler {
  private final SendingPools pools;
  private final List<SendingPools.Source> nodeSources;

  public DedicatedIpsHandler(SendingPools pools, List<SendingPools.Source> nodeSources) {
    this.pools = pools;
    this.nodeSources = List.copyOf(nodeSources);
  }

  public Future<JsonObject> listPools(Caller caller, RoutingContext ctx) {
    Paging paging = Paging.of(ctx, null, 100);
    List<String> names = new ArrayList<>(pools.names());
    JsonArray page = new JsonArray();
    int from = start(paging, names.size());
    int to = Math.min(names.size(), from + paging.pageSize());
    names.subList(from, to).forEach(page::add);
    return Future.succeededFuture(paged(paging, new JsonObject().put("DedicatedIpPools", page), to, names.size()));
  }

  public Future<JsonObject> getPool(Caller caller, RoutingContext ctx) {
    SendingPools.Pool pool = pool(ctx.pathParam("name"));
    return Future.succeededFuture(new JsonObject().put("DedicatedIpPool",
        new JsonObject().put("PoolName", pool.name()).put("ScalingMode", "STANDARD")));
  }

  /**
   * Every address once (with the first pool that names it as its own), or one pool's own addresses (none for a pool
   * whose mail leaves from the node's addresses, which are in no pool).
   */
  public Future<JsonObject> listIps(Caller caller, RoutingContext ctx) {
    String poolName = ctx.queryParams().get("PoolName");
    Paging paging = Paging.of(ctx, null, 100, poolName == null ? "" : poolName);
    List<JsonObject> ips = new ArrayList<>();
    if (poolName != null) {
      SendingPools.Pool pool = pool(poolName);
      for (SendingPools.Source s : pool.sources()) {
        ips.add(ip(s.address(), pool.name()));
      }
    } else {
      all().forEach((address, pool) -> ips.add(ip(address, pool)));
    }
    int from = start(paging, ips.size());
    int to = Math.min(ips.size(), from + paging.pageSize());
    return Future.succeededFuture(paged(paging, new JsonObject().put("DedicatedIps", new JsonArray(new ArrayList<>(
        ips.subList(from, to)))), to, ips.size()));
  }

  public Future<JsonObject> getIp(Caller caller, RoutingContext ctx) {
    String address = ctx.pathParam("ip");
    Map<String, String> all = all();
    String canonical = SendingPools.canonical(address);
    if (canonical == null || !all.containsKey(canonical)) {
      throw new SesException(SesError.NOT_FOUND, "Dedicated IP " + MailboxParser.abbreviate(address)
          + " does not exist: it is no source address of this node's delivery.");
    }
    return Future.succeededFuture(new JsonObject().put("DedicatedIp", ip(canonical, all.get(canonical))));
  }

  /** The operations that would change pools or addresses: the operator's configuration, not an account's. */
  public Future<JsonObject> refuseChange(Caller caller, RoutingContext ctx) {
    throw SesException.badRequest("Dedicated IP pools and their addresses are the operator's configuration "
        + "(delivery.sendingPools and delivery.sourceAddresses), the same for every account: they cannot be changed "
        + "through the API.");
  }

  /** Each address, in the order configured (the node's first), with the first pool naming it (null: none). */
  private Map<String, String> all() {
    Map<String, String> all = new LinkedHashMap<>();
    nodeSources.forEach(s -> all.put(s.address(), null));
    for (SendingPools.Pool p : pools.all()) {
      for (SendingPools.Source s : p.sources()) {
        if (all.get(s.address()) == null) {
          all.put(s.address(), p.name());
        }
      }
    }
    return all;
  }

  private SendingPools.Pool pool(String name) {
    return pools.get(name).orElseThrow(() -> new SesException(SesError.NOT_FOUND,
        "Dedicated IP pool " + MailboxParser.abbreviate(name) + " does not exist."));
  }

  private static JsonObject ip(String address, String pool) {
    JsonObject ip = new JsonObject().put("Ip", address).put("WarmupStatus", "DONE").put("WarmupPercentage", 100);
    return pool == null ? ip : ip.put("PoolName", pool);
  }

  /** The index a page starts at: after the token's, which must be within the list. */
  private static int start(Paging paging, int size) {
    if (paging.after() == null) {
      return 0;
    }
    try {
      int after = Integer.parseInt(paging.after());
      if (after >= 0 && after <= size) {
        return after;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw Paging.invalidToken(SesError.BAD_REQUEST);
  }

  private static JsonObject paged(Paging paging, JsonObject answer, int end, int size) {
    return end < size ? answer.put("NextToken", paging.next(Integer.toString(end))) : answer;
  }
}
