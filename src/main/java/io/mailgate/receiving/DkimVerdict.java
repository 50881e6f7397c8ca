package io.mailgate.receiving;

import com.google.common.io.CountingOutputStream;
import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.net.IDN;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.PublicKeyRecord;
import org.apache.james.jdkim.api.PublicKeyRecordRetriever;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.canon.CompoundOutputStream;
import org.apache.james.jdkim.canon.RelaxedBodyCanonicalizer;
import org.apache.james.jdkim.canon.SimpleBodyCanonicalizer;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.apache.james.jdkim.exceptions.TempFailException;
import org.apache.james.jdkim.impl.BodyHasherImpl;

/**
 * The {@code dkimVerdict} of a received message, as SES reports it: PASS when a DKIM signature of the message
 * verifies, FAIL when it has signatures and none does, GRAY when it has none, PROCESSING_FAILED when none verifies and
 * a key could not be looked up (DNS unavailable). Keys come from the node's DNS resolver (asynchronous, cached); the
 * verification itself (jDKIM: canonicalization, hashing, RSA) runs on a worker thread. With the verdict come the
 * {@code d=} domains of the signatures that verified (DMARC aligns the From domain with them, {@link DmarcVerdict}) and
 * those whose keys could not be looked up (only they make DMARC unsure).
 *
 * <p>Only the first {@link #MAX_SIGNATURES} DKIM-Signature fields are verified: jDKIM hashes the body once per
 * signature, so a thousand copies of one valid signature on a 10 MB message would cost 10 GB of hashing. RFC 8301:
 * {@code rsa-sha1} and RSA keys shorter than 1,024 bits do not verify. A signature time ({@code t=}) up to 15 minutes
 * ahead is the signer's clock, not a failure (jDKIM would refuse a second ahead). A signature whose body length
 * ({@code l=}) is shorter than the body does not verify: what follows the signed length (a new HTML part) would
 * pass as the signer's.
 */
public final class DkimVerdict {
  public static final String PASS = "PASS";
  public static final String FAIL = "FAIL";
  public static final String GRAY = "GRAY";
  public static final String PROCESSING_FAILED = "PROCESSING_FAILED";
  /** Signatures looked at, at most: a message with more is judged on its first ones. */
  static final int MAX_SIGNATURES = 5;
  /**
   * Tags of a signature read for the key it names: RFC 6376 defines 14. A {@code d=} or {@code s=} past them is not
   * seen (no key is looked up for it, and the signature does not verify); a megabyte of {@code x;x;x;} is not read.
   */
  static final int MAX_TAGS = 64;
  private static final Pattern SPACE = Pattern.compile("\\s+");
  /** How far ahead of this node's clock a signature's time may be. */
  static final long CLOCK_SKEW_SECONDS = 15 * 60;
  /** RFC 8301 3.2: shorter RSA keys do not verify. */
  static final int MIN_RSA_BITS = 1024;

  /**
   * A verdict, the signing domains ({@code d=}, lower case, A-labels) of the signatures that verified, and those of
   * the signatures whose keys could not be looked up.
   *
   * @param status PASS, FAIL, GRAY or PROCESSING_FAILED
   */
  public record Result(String status, List<String> passingDomains, List<String> unavailableDomains) {
    public Result {
      passingDomains = List.copyOf(passingDomains);
      unavailableDomains = List.copyOf(unavailableDomains);
    }

    static Result of(String status) {
      return new Result(status, List.of(), List.of());
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
      // unsigned: GRAY; signed, but no signature names a key (no d= or s=, or a name too long): none verifies, FAIL
      return Future.succeededFuture(Result.of(ReceivedHeaders.values(message, "DKIM-Signature").isEmpty() ? GRAY
          : FAIL));
    }
    List<Future<DnsAnswer<String>>> lookups = new ArrayList<>();
    keyNames.forEach(name -> lookups.add(dns.txt(name)));
    return Future.join(lookups).transform(done -> {
      Map<String, DnsAnswer<String>> keys = new HashMap<>();
      for (int i = 0; i < keyNames.size(); i++) {
        Future<DnsAnswer<String>> f = lookups.get(i);
        if (f.succeeded()) {
          keys.put(keyNames.get(i), f.result());
        } else if (!(f.cause() instanceof IllegalArgumentException)) {
          // not a domain name (d=bad!.example): no key there, a permanent failure; anything else: DNS failed
          keys.put(keyNames.get(i), new DnsAnswer.Unavailable<>(keyNames.get(i), String.valueOf(f.cause())));
        }
      }
      // the copy without the signatures past the first ones (a whole message's copy) is made off the loop too
      return vertx.executeBlocking(() -> verify(ReceivedHeaders.withoutFieldsAfter(message, "DKIM-Signature",
          MAX_SIGNATURES), keys, Instant.now()), false);
    });
  }

  static Result verify(byte[] message, Map<String, DnsAnswer<String>> keys, Instant now) {
    List<String> unavailable = new ArrayList<>();
    Verifier verifier = new Verifier((method, selector, domain) -> {
      String name = (selector + "._domainkey." + domain(domain.toString())).toLowerCase(Locale.ROOT);
      DnsAnswer<String> answer = keys.get(name);
      if (answer instanceof DnsAnswer.Unavailable<String> u) {
        unavailable.add(domain(domain.toString()));
        throw new TempFailException("no answer for " + name + ": " + u.reason());
      }
      if (answer == null || answer.records().isEmpty()) {
        throw new PermFailException("no key at " + name);
      }
      return answer.records();
    }, now);
    List<SignatureRecord> valid;
    try {
      valid = verifier.verify(new ByteArrayInputStream(message));
    } catch (Exception e) {
      // FailException, or a signature jDKIM cannot read (bad base64, unknown algorithm): it does not verify
      valid = null;
    }
    List<String> passing = valid == null ? List.of() : valid.stream()
        .filter(r -> !isSha1(r)) // RFC 8301 3.1
        .filter(verifier::coversBody)
        .map(r -> domain(r.getDToken().toString())).distinct().toList();
    if (!passing.isEmpty()) {
      return new Result(PASS, passing, List.copyOf(new LinkedHashSet<>(unavailable)));
    }
    // jDKIM reports several failures as one permanent failure: a key that could not be looked up still makes the
    // verdict unknown rather than FAIL
    return unavailable.isEmpty() ? Result.of(FAIL)
        : new Result(PROCESSING_FAILED, List.of(), List.copyOf(new LinkedHashSet<>(unavailable)));
  }

  private static boolean isSha1(SignatureRecord r) {
    String method = String.valueOf(r.getHashMethod()).toLowerCase(Locale.ROOT);
    String algo = String.valueOf(r.getHashAlgo()).toLowerCase(Locale.ROOT).replace("-", "");
    return method.equals("sha1") || algo.equals("sha1");
  }

  /** A signing domain as DMARC compares it: lower case, in A-labels ({@code d=bücher.example} too). */
  static String domain(String d) {
    String lower = d.strip().toLowerCase(Locale.ROOT);
    try {
      return IDN.toASCII(lower, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      return lower;
    }
  }

  /**
   * jDKIM with RFC 8301's key size, a signature time a little ahead of this node's clock taken as now, and the length
   * of the body each {@code l=} signature was checked against.
   */
  private static final class Verifier extends DKIMVerifier {
    private final Instant now;
    /** The whole canonicalized body's length, counted for each signature with {@code l=}. */
    private final Map<SignatureRecord, CountingOutputStream> bodyLengths = new IdentityHashMap<>();

    Verifier(PublicKeyRecordRetriever keys, Instant now) {
      super(keys);
      this.now = now;
    }

    @Override
    public PublicKeyRecord publicKeySelector(List<String> records) throws PermFailException {
      PublicKeyRecord key = super.publicKeySelector(records);
      if (key.getPublicKey() instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
        throw new PermFailException("RSA key of " + rsa.getModulus().bitLength() + " bits: shorter than "
            + MIN_RSA_BITS + " (RFC 8301)");
      }
      return key;
    }

    @Override
    protected BodyHasherImpl newBodyHasher(SignatureRecord signature) throws PermFailException {
      BodyHasherImpl hasher = super.newBodyHasher(signature);
      if (signature.getBodyHashLimit() >= 0) {
        // jDKIM hashes the first l= bytes of the canonicalized body and passes over the rest uncounted: the body is
        // canonicalized a second time, alongside, to be measured
        CountingOutputStream length = new CountingOutputStream(OutputStream.nullOutputStream());
        OutputStream canonical = SignatureRecord.RELAXED.equals(signature.getBodyCanonicalisationMethod())
            ? new RelaxedBodyCanonicalizer(length) : new SimpleBodyCanonicalizer(length);
        hasher.setOutputStream(new CompoundOutputStream(List.of(hasher.getOutputStream(), canonical)));
        bodyLengths.put(signature, length);
      }
      return hasher;
    }

    /** Whether a verified signature's hash is of the whole body (it has no {@code l=}, or one as long as the body). */
    boolean coversBody(SignatureRecord signature) {
      CountingOutputStream length = bodyLengths.get(signature);
      return length == null || length.getCount() <= signature.getBodyHashLimit();
    }

    @Override
    public SignatureRecord newSignatureRecord(String record) {
      SignatureRecord signature = super.newSignatureRecord(record);
      Long t = signature.getSignatureTimestamp();
      if (t == null || t <= now.getEpochSecond() || t > now.getEpochSecond() + CLOCK_SKEW_SECONDS) {
        return signature;
      }
      // ahead by less than the skew allowed: jDKIM, which refuses any time ahead of its clock, sees none
      return (SignatureRecord) Proxy.newProxyInstance(SignatureRecord.class.getClassLoader(),
          new Class<?>[] {SignatureRecord.class}, (proxy, method, args) -> {
            if (method.getName().equals("getSignatureTimestamp")) {
              return null;
            }
            try {
              return method.invoke(signature, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
              throw e.getCause();
            }
          });
    }
  }

  /**
   * The DNS names of the keys the message's first {@link #MAX_SIGNATURES} DKIM-Signature fields name
   * ({@code s._domainkey.d}, from their first {@link #MAX_TAGS} tags), lower-cased, once each.
   */
  static List<String> keyNames(byte[] message) {
    List<String> names = new ArrayList<>();
    List<String> signatures = ReceivedHeaders.values(message, "DKIM-Signature");
    for (String signature : signatures.subList(0, Math.min(MAX_SIGNATURES, signatures.size()))) {
      String domain = null;
      String selector = null;
      int start = 0;
      for (int tags = 0; tags < MAX_TAGS && start <= signature.length(); tags++) {
        int end = signature.indexOf(';', start);
        if (end < 0) {
          end = signature.length();
        }
        String t = SPACE.matcher(signature.substring(start, end)).replaceAll("");
        start = end + 1;
        if (t.startsWith("d=")) {
          domain = t.substring(2);
        } else if (t.startsWith("s=")) {
          selector = t.substring(2);
        }
      }
      if (domain != null && selector != null && !domain.isEmpty() && !selector.isEmpty()) {
        String name = (selector + "._domainkey." + domain(domain)).toLowerCase(Locale.ROOT);
        if (!names.contains(name) && name.length() <= 253) {
          names.add(name);
        }
      }
    }
    return names;
  }
}
