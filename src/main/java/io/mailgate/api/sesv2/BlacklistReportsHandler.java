package io.mailgate.api.sesv2;

import io.mailgate.SesException;
import io.mailgate.delivery.SendingPools;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.mailgate.store.IpListingStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SES v2 GetBlacklistReports ({@code GET /v2/email/deliverability-dashboard/blacklist-report?BlacklistItemNames=...}):
 * the DNS blocklists each of the given dedicated IP addresses (the node's sending addresses, as GetDedicatedIps lists
 * them) is listed in now, as the nodes' blocklist look-ups found ({@link io.mailgate.delivery.BlocklistVerticle}):
 * the zone ({@code RblName}), since when ({@code ListingTime}: when a look-up first found it) and the blocklist's own
 * words ({@code Description}); an address listed nowhere has an empty list. An address that is not one the node
 * sends from is a BadRequest, as in SES. Open to every account (SES keeps it for the Deliverability dashboard).
 */
public final class BlacklistReportsHandler {
  static final int MAX_ITEMS = 100;

  private final IpListingStore store;
  private final List<String> dedicated;

  /** @param dedicated the node's sending addresses ({@code BlocklistVerticle.addresses}) */
  public BlacklistReportsHandler(IpListingStore store, List<String> dedicated) {
    this.store = store;
    this.dedicated = List.copyOf(dedicated);
  }

  public Future<JsonObject> report(Caller caller, RoutingContext ctx) {
    List<String> names = ctx.queryParam("BlacklistItemNames");
    if (names.isEmpty()) {
      throw SesException.badRequest("Missing required parameter BlacklistItemNames: the dedicated IP addresses to "
          + "report on.");
    }
    if (names.size() > MAX_ITEMS) {
      throw SesException.badRequest("BlacklistItemNames may name at most " + MAX_ITEMS + " addresses, not "
          + names.size() + ".");
    }
    // each as asked, by the address it stands for (2001:DB8::1 and 2001:db8:0::1 are one)
    Map<String, String> asked = new LinkedHashMap<>();
    for (String name : names) {
      String canonical = SendingPools.canonical(name.strip());
      if (canonical == null || !dedicated.contains(canonical)) {
        throw SesException.badRequest("BlacklistItemNames: " + MailboxParser.abbreviate(name) + " is not "
            + (canonical == null ? "an IP address" : "a dedicated IP address of this deployment")
            + " (GetDedicatedIps lists them).");
      }
      asked.put(name, canonical);
    }
    return store.listings(new ArrayList<>(new java.util.LinkedHashSet<>(asked.values()))).map(found -> {
      JsonObject report = new JsonObject();
      asked.forEach((name, canonical) -> {
        JsonArray entries = new JsonArray();
        for (IpListingStore.Listing l : found.getOrDefault(canonical, List.of())) {
          entries.add(new JsonObject().put("RblName", l.zone())
              .put("ListingTime", l.listedAt().toEpochMilli() / 1000.0).put("Description", l.description()));
        }
        report.put(name, entries);
      });
      return new JsonObject().put("BlacklistReport", report);
    });
  }
}
