package io.mailgate.api.acm;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.JsonFields;
import io.mailgate.api.Paging;
import io.mailgate.api.RequestAuthenticator;
import io.mailgate.api.SesErrors;
import io.mailgate.api.V2Route;
import io.mailgate.identity.CertificateStore;
import io.mailgate.identity.CertificateStore.Outcome;
import io.mailgate.identity.CertificateStore.Stored;
import io.mailgate.identity.SmimeCertificate;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * The part of AWS Certificate Manager's API that S/MIME signing needs, under {@value #PATH} (an ACM client whose
 * endpoint is {@code http://host:port/acm} works unchanged): ImportCertificate (a new certificate, or one imported
 * before replaced by its ARN), DescribeCertificate, GetCertificate, ListCertificates and DeleteCertificate (refused
 * while an identity's address signs with it). ACM's JSON 1.1 protocol ({@code X-Amz-Target: CertificateManager.<op>}),
 * signed with SigV4 for service {@code acm} with the account's access keys; errors are ACM's types
 * (ValidationException, InvalidArnException, ResourceNotFoundException, ResourceInUseException,
 * LimitExceededException). Certificates are the account's: another account's ARN is not found. Certificates are only
 * imported here (ACM's RequestCertificate, which issues them, is not an operation of this endpoint).
 */
public final class AcmApi {
  public static final String PATH = "/acm";
  /** What one account may import: ACM's default quota of imported certificates is 2,500 a year. */
  static final int MAX_CERTIFICATES = 1_000;
  static final int MAX_ITEMS = 1_000;
  private static final String TARGET_PREFIX = "CertificateManager.";

  private final RequestAuthenticator auth;
  private final CertificateStore store;
  private final String region;

  public AcmApi(RequestAuthenticator auth, CertificateStore store, String region) {
    this.auth = auth;
    this.store = store;
    this.region = region;
  }

  /** Serves one request (its body read). */
  public void handle(RoutingContext ctx) {
    String target = ctx.request().getHeader("X-Amz-Target");
    auth.authenticateAcm(ctx.request(), ctx.body().buffer())
        .compose(caller -> {
          if (target == null || !target.startsWith(TARGET_PREFIX)) {
            throw new SesException(SesError.UNKNOWN_OPERATION, "Missing or unknown X-Amz-Target: an ACM operation "
                + "is named CertificateManager.<Operation>.");
          }
          JsonObject body = V2Route.body(ctx);
          String account = caller.account().id();
          return switch (target.substring(TARGET_PREFIX.length())) {
            case "ImportCertificate" -> importCertificate(account, body);
            case "DescribeCertificate" -> find(account, body).map(c -> new JsonObject().put("Certificate",
                describe(account, c)));
            case "GetCertificate" -> find(account, body).map(c -> {
              JsonObject out = new JsonObject().put("Certificate", c.certificatePem());
              return c.chainPem() == null ? out : out.put("CertificateChain", c.chainPem());
            });
            case "ListCertificates" -> list(account, body);
            case "DeleteCertificate" -> store.delete(account, id(account, body)).map(outcome -> switch (outcome) {
              case DONE -> new JsonObject();
              case IN_USE -> throw new SesException(SesError.ACM_IN_USE, "Certificate " + arn(account,
                  id(account, body)) + " is in use: disassociate it from the identities whose addresses it signs "
                  + "for first.");
              default -> throw notFound(account, id(account, body));
            });
            default -> throw new SesException(SesError.UNKNOWN_OPERATION, "ACM operation "
                + target.substring(TARGET_PREFIX.length()) + " is not an operation of this endpoint.");
          };
        })
        .onSuccess(json -> ctx.response().putHeader("content-type", "application/x-amz-json-1.1")
            .putHeader(SesErrors.REQUEST_ID, SesErrors.newRequestId()).end(json.encode()))
        .onFailure(ctx::fail);
  }

  private Future<JsonObject> importCertificate(String account, JsonObject body) {
    byte[] certificate = blob(body, "Certificate", SmimeCertificate.MAX_CERTIFICATE_BYTES, true);
    byte[] key = blob(body, "PrivateKey", SmimeCertificate.MAX_KEY_BYTES, true);
    byte[] chain = blob(body, "CertificateChain", SmimeCertificate.MAX_CHAIN_BYTES, false);
    String replacing = JsonFields.string(body, "CertificateArn", "");
    if (body.containsKey("Tags")) {
      throw new SesException(SesError.ACM_VALIDATION, "Tags are not kept on certificates here.");
    }
    String id = replacing == null ? UUID.randomUUID().toString() : parseArn(account, replacing);
    Instant now = Instant.now();
    // parsing checks the key against the certificate with a signature: a worker thread's work (RSA-4096: milliseconds)
    return Vertx.currentContext().executeBlocking(() -> SmimeCertificate.parse(certificate, key, chain, now), false)
        .compose(parsed -> replacing == null ? Future.succeededFuture(parsed) : store.addresses(account, id)
            .map(addresses -> {
              // a certificate replaced must still sign for the addresses it signs for
              for (String address : addresses) {
                String unusable = parsed.unusableFor(address, now);
                if (unusable != null) {
                  throw new SesException(SesError.ACM_VALIDATION, "The certificate signs for " + address
                      + " and cannot be replaced by one that does not: " + unusable);
                }
              }
              return parsed;
            }))
        // the chain kept as the certificates read, in PEM: not what else the field held around them
        .compose(parsed -> store.importCertificate(account, id, replacing != null, parsed, parsed.chain().isEmpty()
            ? null : parsed.chain().stream().map(CertificateStore::pem).collect(Collectors.joining()), now,
            MAX_CERTIFICATES))
        .map(outcome -> switch (outcome) {
          case DONE -> new JsonObject().put("CertificateArn", arn(account, id));
          case LIMIT -> throw new SesException(SesError.ACM_LIMIT_EXCEEDED, "The account has imported "
              + MAX_CERTIFICATES + " certificates: delete some first.");
          default -> throw notFound(account, id);
        });
  }

  private static byte[] blob(JsonObject body, String field, int max, boolean required) {
    byte[] value = JsonFields.blob(body, field, "");
    if (value == null || value.length == 0) {
      if (required) {
        throw new SesException(SesError.ACM_VALIDATION, "Missing required field " + field + ".");
      }
      return null;
    }
    if (value.length > max) {
      throw new SesException(SesError.ACM_VALIDATION, field + " is " + value.length + " bytes; at most " + max
          + " are taken.");
    }
    return value;
  }

  private Future<Stored> find(String account, JsonObject body) {
    String id = id(account, body);
    return store.find(account, id).map(found -> found.orElseThrow(() -> notFound(account, id)));
  }

  private Future<JsonObject> list(String account, JsonObject body) {
    Integer max = body.getValue("MaxItems") instanceof Number n ? n.intValue() : null;
    if (body.containsKey("MaxItems") && (max == null || max < 1 || max > MAX_ITEMS)) {
      throw new SesException(SesError.ACM_VALIDATION, "MaxItems must be a number from 1 to " + MAX_ITEMS + ".");
    }
    int limit = max == null ? MAX_ITEMS : max;
    String token = JsonFields.string(body, "NextToken", "");
    String after = token == null ? "" : Paging.position(token, SesError.ACM_VALIDATION);
    return store.list(account, after, limit + 1).map(found -> {
      JsonArray summaries = new JsonArray();
      List<Stored> page = found.size() > limit ? found.subList(0, limit) : found;
      for (Stored c : page) {
        SmimeCertificate view = SmimeCertificate.view(c.certificatePem());
        summaries.add(new JsonObject().put("CertificateArn", arn(account, c.id()))
            .put("DomainName", view.commonName()).put("Status", status(c)).put("Type", "IMPORTED")
            .put("KeyAlgorithm", c.keyAlgorithm()).put("InUse", !c.inUseBy().isEmpty())
            .put("NotBefore", seconds(c.notBefore())).put("NotAfter", seconds(c.notAfter()))
            .put("ImportedAt", seconds(c.importedAt())));
      }
      JsonObject out = new JsonObject().put("CertificateSummaryList", summaries);
      return found.size() > limit ? out.put("NextToken", Paging.token(page.get(page.size() - 1).id())) : out;
    });
  }

  private JsonObject describe(String account, Stored c) {
    SmimeCertificate view = SmimeCertificate.view(c.certificatePem());
    JsonArray inUse = new JsonArray();
    c.inUseBy().forEach(identity -> inUse.add("arn:aws:ses:" + region + ":" + account + ":identity/" + identity));
    return new JsonObject().put("CertificateArn", arn(account, c.id())).put("DomainName", view.commonName())
        .put("SubjectAlternativeNames", new JsonArray(view.emailAddresses())).put("Serial", c.serial())
        .put("Subject", c.subject()).put("Issuer", c.issuer()).put("ImportedAt", seconds(c.importedAt()))
        .put("NotBefore", seconds(c.notBefore())).put("NotAfter", seconds(c.notAfter())).put("Status", status(c))
        .put("KeyAlgorithm", c.keyAlgorithm()).put("SignatureAlgorithm", view.certificate().getSigAlgName())
        .put("InUseBy", inUse).put("Type", "IMPORTED").put("RenewalEligibility", "INELIGIBLE");
  }

  private static String status(Stored c) {
    return c.notAfter().isAfter(Instant.now()) ? "ISSUED" : "EXPIRED";
  }

  private static double seconds(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }

  private String id(String account, JsonObject body) {
    String arn = JsonFields.string(body, "CertificateArn", "");
    if (arn == null) {
      throw new SesException(SesError.ACM_VALIDATION, "Missing required field CertificateArn.");
    }
    return parseArn(account, arn);
  }

  /**
   * The id of an ARN of this region's ACM ({@code arn:aws:acm:<region>:<account>:certificate/<id>}): InvalidArn when it
   * is not one; another account's is not found.
   */
  private String parseArn(String account, String arn) {
    CertificateArn parsed = CertificateArn.parse(arn);
    if (parsed == null) {
      throw new SesException(SesError.ACM_INVALID_ARN, "String '" + io.mailgate.send.MailboxParser.abbreviate(arn)
          + "' is not a valid ARN of a certificate.");
    }
    if (!parsed.region().equals(region) || !parsed.account().equals(account)) {
      throw notFound(account, parsed.id());
    }
    return parsed.id();
  }

  /** A certificate's ARN, {@code arn:aws:acm:<region>:<account>:certificate/<id>}, read. */
  public record CertificateArn(String region, String account, String id) {
    /** The ARN's parts; null when it is not a certificate's ARN. */
    public static CertificateArn parse(String arn) {
      String[] parts = arn.split(":", 6);
      String prefix = "certificate/";
      if (parts.length != 6 || !parts[0].equals("arn") || !parts[1].equals("aws") || !parts[2].equals("acm")
          || !parts[5].startsWith(prefix) || parts[5].length() == prefix.length() || parts[5].length() > 100) {
        return null;
      }
      return new CertificateArn(parts[3], parts[4], parts[5].substring(prefix.length()));
    }
  }

  private String arn(String account, String id) {
    return arn(region, account, id);
  }

  private SesException notFound(String account, String id) {
    return new SesException(SesError.ACM_NOT_FOUND, "Could not find certificate " + arn(account, id) + ".");
  }

  /** The ARN of certificate {@code id} of the account, as the SES API shows it. */
  public static String arn(String region, String account, String id) {
    return "arn:aws:acm:" + region + ":" + account + ":certificate/" + id;
  }
}
