package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.api.acm.AcmApi;
import io.mailgate.identity.CertificateStore;
import io.mailgate.identity.IdentityNames;
import io.mailgate.identity.IdentityStore;
import io.mailgate.identity.SmimeCertificate;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.mailgate.send.smime.SmimeKeys;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;

/**
 * SES v2 S/MIME certificate associations: AssociateEmailIdentityCertificate ({@code POST
 * /v2/email/identity/certificates}), DisassociateEmailIdentityCertificate ({@code .../certificates/delete}) and
 * ListEmailIdentityCertificates ({@code .../certificates/list}). A certificate (imported through the ACM-compatible
 * endpoint, {@link AcmApi}) signs for one From address of an identity: the identity itself for an address identity,
 * an address of the domain or a subdomain for a domain identity; one certificate per address. The certificate must be
 * able to sign that address's mail (it names the address, allows signatures and email protection, has not expired):
 * checked when it is associated, so the association is ACTIVE at once (SES's PROVISIONING is instant here), and
 * INACTIVE once the certificate has expired.
 */
public final class IdentityCertificatesHandler {
  static final int MAX_PAGE_SIZE = 1000;

  private final CertificateStore certificates;
  private final IdentityStore identities;
  private final SmimeKeys keys;
  private final String region;
  private final Clock clock;

  public IdentityCertificatesHandler(CertificateStore certificates, IdentityStore identities, SmimeKeys keys,
      String region, Clock clock) {
    this.certificates = certificates;
    this.identities = identities;
    this.keys = keys;
    this.region = region;
    this.clock = clock;
  }

  public Future<JsonObject> associate(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String account = caller.account().id();
    String identity = IdentityNames.normalize(string(body, "EmailIdentity", ""));
    String from = fromAddress(identity, string(body, "FromAddress", ""));
    String arn = string(body, "CertificateArn", "");
    if (arn == null) {
      throw SesException.badRequest("Missing required field CertificateArn.");
    }
    String id = certificateId(account, arn);
    Instant now = clock.instant();
    return existing(account, identity)
        .compose(v -> certificates.find(account, id))
        .compose(found -> {
          if (found.isEmpty()) {
            return Future.failedFuture(new SesException(SesError.NOT_FOUND, "Certificate " + arn + " does not exist."));
          }
          String unusable = SmimeCertificate.view(found.get().certificatePem()).unusableFor(from, now);
          if (unusable != null) {
            return Future.failedFuture(SesException.badRequest("Certificate " + arn + " cannot sign mail from " + from
                + ": " + unusable));
          }
          return certificates.associate(account, identity, from, id, now);
        })
        .map(outcome -> switch (outcome) {
          case DONE -> {
            keys.invalidate(account, from);
            yield new JsonObject();
          }
          case EXISTS -> throw new SesException(SesError.ALREADY_EXISTS, "The address " + from
              + " has a certificate already: disassociate it first.");
          default -> throw new SesException(SesError.NOT_FOUND, "Certificate " + arn + " does not exist.");
        });
  }

  public Future<JsonObject> disassociate(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String account = caller.account().id();
    String identity = IdentityNames.normalize(string(body, "EmailIdentity", ""));
    String from = fromAddress(identity, string(body, "FromAddress", ""));
    return existing(account, identity).compose(v -> certificates.disassociate(account, identity, from))
        .map(v -> {
          keys.invalidate(account, from);
          return new JsonObject();
        });
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String account = caller.account().id();
    String identity = IdentityNames.normalize(string(body, "EmailIdentity", ""));
    Paging page = Paging.of(ctx, body, MAX_PAGE_SIZE, identity);
    int limit = page.pageSize();
    String from = page.after() == null ? "" : page.after();
    Instant now = clock.instant();
    return existing(account, identity).compose(v -> certificates.associations(account, identity, from, limit + 1))
        .map(found -> {
          JsonArray out = new JsonArray();
          for (CertificateStore.Association a : found.subList(0, Math.min(limit, found.size()))) {
            out.add(new JsonObject().put("FromAddress", a.fromAddress())
                .put("Status", a.notAfter().isAfter(now) ? "ACTIVE" : "INACTIVE")
                .put("CertificateArn", AcmApi.arn(region, account, a.certificateId()))
                .put("CertificateExpiryTime", a.notAfter().toEpochMilli() / 1000.0));
          }
          JsonObject result = new JsonObject().put("Certificates", out);
          return found.size() > limit ? result.put("NextToken", page.next(found.get(limit - 1).fromAddress()))
              : result;
        });
  }

  private Future<Void> existing(String account, String identity) {
    return identities.find(account, identity).compose(found -> found.isPresent() ? Future.succeededFuture()
        : Future.failedFuture(new SesException(SesError.NOT_FOUND, "Email identity " + identity
            + " does not exist.")));
  }

  /**
   * The From address an association is for: an address identity's own (FromAddress, when given, must be it); for a
   * domain identity, FromAddress, an address of the domain or one of its subdomains.
   */
  static String fromAddress(String identity, String given) {
    String address = null;
    if (given != null) {
      if (!IdentityNames.isAddress(given)) {
        throw SesException.badRequest("Invalid FromAddress " + MailboxParser.abbreviate(given)
            + ": an email address is expected.");
      }
      address = IdentityNames.normalize(given);
    }
    if (IdentityNames.isAddress(identity)) {
      if (address != null && !address.equals(identity)) {
        throw SesException.badRequest("FromAddress " + address + " must be the email identity " + identity
            + " itself.");
      }
      return identity;
    }
    if (address == null) {
      throw SesException.badRequest("FromAddress is required for the domain identity " + identity + ".");
    }
    if (!IdentityNames.domainCovers(identity, IdentityNames.domainOf(address))) {
      throw SesException.badRequest("FromAddress " + address + " is not an address of " + identity
          + " or of one of its subdomains.");
    }
    return address.toLowerCase(Locale.ROOT);
  }

  /** The id of a certificate ARN of this region's ACM and this account; another's is not found. */
  private String certificateId(String account, String arn) {
    AcmApi.CertificateArn parsed = AcmApi.CertificateArn.parse(arn);
    if (parsed == null) {
      throw SesException.badRequest("Invalid CertificateArn " + MailboxParser.abbreviate(arn)
          + ": expected arn:aws:acm:<region>:<account>:certificate/<id>.");
    }
    if (!parsed.region().equals(region) || !parsed.account().equals(account)) {
      throw new SesException(SesError.NOT_FOUND, "Certificate " + MailboxParser.abbreviate(arn)
          + " does not exist.");
    }
    return parsed.id();
  }
}
