package io.mailgate.receiving;

import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.FailException;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.apache.james.jdkim.exceptions.TempFailException;

/**
 * The {@code dkimVerdict} of a received message, as SES reports it: PASS when a DKIM signature of the message
 * verifies, FAIL when it has signatures and none does, GRAY when it has none, PROCESSING_FAILED when a key could not
 * be looked up (DNS unavailable). Keys come from the node's DNS resolver (asynchronous, cached); the verification
 * itself (jDKIM: canonicalization, hashing, RSA) runs on a worker thread. With the verdict come the {@code d=}
 * domains of the signatures that verified: DMARC aligns the From domain with them ({@link DmarcVerdict}).
 */
public final class DkimVerdict {
  public static final String PASS = "PASS";
  public static final String FAIL = "FAIL";
  public static final String GRAY = "GRAY";
  public static final String PROCESSING_FAILED = "PROCESSING_FAILED";
  /** Signatures looked at, at most: a message with more is judged on its first ones. */
  static final int MAX_SIGNATURES = 5;

  /**
   * A verdict and the signing domains ({@code d=}, lower case) of the signatures that verified.
   *
   * @param status PASS, FAIL, GRAY or PROCESSING_FAILED
   */
  public record Result(String status, List<String> passingDomains) {
    public Result {
      passingDomains = List.copyOf(passingDomains);
    }

    static Result of(String status) {
      return new Result(status, List.of());
    }
  }

  private final Vertx vertx;
  private final DnsResolver dns;

  public DkimVerdict(Vertx vertx, DnsResolver dns) {
    this.vertx = vertx;
    this.dns = dns;
  }

  /** The verdict on {@code message} (as received). */
  public Future<Result> of(byte[] message) {
    List<String> keyNames;
    try {
      keyNames = keyNames(message);
    } catch (ReceivedHeaders.TooLong e) {
      return Future.succeededFuture(Result.of(PROCESSING_FAILED));
    }
    if (keyNames.isEmpty()) {
      return Future.succeededFuture(Result.of(GRAY));
    }
    List<Future<DnsAnswer<String>>> lookups = new ArrayList<>();
    keyNames.forEach(name -> lookups.add(dns.txt(name)));
    return Future.join(lookups).transform(done -> {
      Map<String, DnsAnswer<String>> keys = new HashMap<>();
      for (int i = 0; i < keyNames.size(); i++) {
        Future<DnsAnswer<String>> f = lookups.get(i);
        keys.put(keyNames.get(i), f.succeeded() ? f.result() : new DnsAnswer.Unavailable<>(keyNames.get(i),
            String.valueOf(f.cause())));
      }
      return vertx.executeBlocking(() -> verify(message, keys), false);
    });
  }

  static Result verify(byte[] message, Map<String, DnsAnswer<String>> keys) {
    DKIMVerifier verifier = new DKIMVerifier((method, selector, domain) -> {
      String name = (selector + "._domainkey." + domain).toLowerCase(Locale.ROOT);
      DnsAnswer<String> answer = keys.get(name);
      if (answer instanceof DnsAnswer.Unavailable<String> u) {
        throw new TempFailException("no answer for " + name + ": " + u.reason());
      }
      if (answer == null || answer.records().isEmpty()) {
        throw new PermFailException("no key at " + name);
      }
      return answer.records();
    });
    try {
      List<SignatureRecord> valid = verifier.verify(new ByteArrayInputStream(message));
      if (valid == null || valid.isEmpty()) {
        return Result.of(FAIL);
      }
      return new Result(PASS, valid.stream().map(r -> r.getDToken().toString().toLowerCase(Locale.ROOT)).distinct()
          .toList());
    } catch (TempFailException e) {
      return Result.of(PROCESSING_FAILED);
    } catch (FailException e) {
      return Result.of(FAIL);
    } catch (Exception e) {
      return Result.of(FAIL); // a signature jDKIM cannot read (bad base64, unknown algorithm): it does not verify
    }
  }

  /** The DNS names of the keys the message's DKIM-Signature fields name ({@code s._domainkey.d}), lower-cased. */
  static List<String> keyNames(byte[] message) {
    List<String> names = new ArrayList<>();
    for (String signature : ReceivedHeaders.values(message, "DKIM-Signature")) {
      if (names.size() >= MAX_SIGNATURES) {
        break;
      }
      String domain = null;
      String selector = null;
      for (String tag : signature.split(";")) {
        String t = tag.replaceAll("\\s+", "");
        if (t.startsWith("d=")) {
          domain = t.substring(2);
        } else if (t.startsWith("s=")) {
          selector = t.substring(2);
        }
      }
      if (domain != null && selector != null && !domain.isEmpty() && !selector.isEmpty()) {
        String name = (selector + "._domainkey." + domain).toLowerCase(Locale.ROOT);
        if (!names.contains(name) && name.length() <= 253) {
          names.add(name);
        }
      }
    }
    return names;
  }
}
