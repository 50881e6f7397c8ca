package io.mailgate.identity;

import io.mailgate.store.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.io.StringWriter;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * S/MIME certificates ({@code certificates}, imported through the ACM-compatible endpoint) and the From addresses of
 * identities they sign for ({@code identity_certificates}, SES v2 AssociateEmailIdentityCertificate), V58. A
 * certificate's private key is kept sealed under the node's master key, bound to its account and id: a key copied to
 * another row does not open.
 */
public final class CertificateStore {

  /** A certificate as DescribeCertificate and ListCertificates show it (no key), with the identities using it. */
  public record Stored(String id, String certificatePem, String chainPem, String subject, String issuer, String serial,
      String keyAlgorithm, Instant notBefore, Instant notAfter, Instant importedAt, List<String> inUseBy) {}

  /** An association: the address, its identity, the certificate and when it expires. */
  public record Association(String identity, String fromAddress, String certificateId, Instant notAfter) {}

  /** What an import, a deletion or an association came to. */
  public enum Outcome { DONE, NOT_FOUND, IN_USE, EXISTS, LIMIT }

  private static final String COLUMNS = "certificate_id, certificate, chain, subject, issuer, serial, key_algorithm, "
      + "not_before, not_after, imported_at, (SELECT coalesce(array_agg(DISTINCT identity ORDER BY identity), '{}') "
      + "FROM identity_certificates i WHERE i.account_id = c.account_id AND i.certificate_id = c.certificate_id)";

  private static final String IMPORT = """
      INSERT INTO certificates (account_id, certificate_id, certificate, chain, private_key, subject, issuer, serial,
        key_algorithm, not_before, not_after, imported_at)
      SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
      WHERE (SELECT count(*) FROM certificates WHERE account_id = $1) < $13""";

  /** ImportCertificate with the ARN of a certificate imported before: replaced, whatever it signs for. */
  private static final String REIMPORT = """
      UPDATE certificates SET certificate = $3, chain = $4, private_key = $5, subject = $6, issuer = $7, serial = $8,
        key_algorithm = $9, not_before = $10, not_after = $11, imported_at = $12
      WHERE account_id = $1 AND certificate_id = $2""";

  private static final String FIND = "SELECT " + COLUMNS + " FROM certificates c "
      + "WHERE account_id = $1 AND certificate_id = $2";

  private static final String LIST = "SELECT " + COLUMNS + " FROM certificates c "
      + "WHERE account_id = $1 AND certificate_id > $2 ORDER BY certificate_id LIMIT $3";

  private static final String DELETE = """
      DELETE FROM certificates c WHERE account_id = $1 AND certificate_id = $2
        AND NOT EXISTS (SELECT 1 FROM identity_certificates i WHERE i.account_id = $1 AND i.certificate_id = $2)
      RETURNING 1""";

  private static final String EXISTS = "SELECT 1 FROM certificates WHERE account_id = $1 AND certificate_id = $2";

  /** $3's certificate for address $4 of identity $2, unless the address has one ($5: the time). */
  private static final String ASSOCIATE = """
      INSERT INTO identity_certificates (account_id, identity, from_address, certificate_id, created_at)
      SELECT $1, $2, $4, $3, $5 WHERE EXISTS (SELECT 1 FROM certificates WHERE account_id = $1 AND certificate_id = $3)
      ON CONFLICT (account_id, from_address) DO NOTHING
      RETURNING 1""";

  private static final String ADDRESSES = """
      SELECT from_address FROM identity_certificates WHERE account_id = $1 AND certificate_id = $2
      ORDER BY from_address""";

  private static final String DISASSOCIATE = """
      DELETE FROM identity_certificates WHERE account_id = $1 AND identity = $2 AND from_address = $3""";

  private static final String ASSOCIATIONS = """
      SELECT i.identity, i.from_address, i.certificate_id, c.not_after FROM identity_certificates i
      JOIN certificates c ON c.account_id = i.account_id AND c.certificate_id = i.certificate_id
      WHERE i.account_id = $1 AND i.identity = $2 AND i.from_address > $3 ORDER BY i.from_address LIMIT $4""";

  /** The certificate that signs for address $2, with its sealed key. */
  private static final String SIGNER = """
      SELECT c.certificate_id, c.certificate, c.chain, c.private_key FROM identity_certificates i
      JOIN certificates c ON c.account_id = i.account_id AND c.certificate_id = i.certificate_id
      WHERE i.account_id = $1 AND i.from_address = $2""";

  private final Pool pool;
  private final SecretBox secrets;

  public CertificateStore(Pool pool, SecretBox secrets) {
    this.pool = pool;
    this.secrets = secrets;
  }

  /**
   * Imports a certificate as {@code id}: a new one (LIMIT when the account has {@code maxCertificates}), or, with
   * {@code replace}, the one of that id (NOT_FOUND when there is none).
   */
  public Future<Outcome> importCertificate(String accountId, String id, boolean replace, SmimeCertificate c,
      String chainPem, Instant now, int maxCertificates) {
    byte[] sealed = secrets.encrypt(c.key().getEncoded(), keyBinding(accountId, id));
    X509Certificate cert = c.certificate();
    Tuple args = Tuple.tuple().addValue(accountId).addValue(id).addValue(pem(cert)).addValue(chainPem)
        .addValue(Buffer.buffer(sealed)).addValue(cert.getSubjectX500Principal().getName())
        .addValue(cert.getIssuerX500Principal().getName()).addValue(c.serial()).addValue(c.keyAlgorithm())
        .addValue(Timestamps.utc(cert.getNotBefore().toInstant())).addValue(Timestamps.utc(c.notAfter()))
        .addValue(Timestamps.utc(now));
    if (replace) {
      return pool.preparedQuery(REIMPORT).execute(args)
          .map(rows -> rows.rowCount() == 1 ? Outcome.DONE : Outcome.NOT_FOUND);
    }
    return pool.preparedQuery(IMPORT).execute(args.addValue(maxCertificates))
        .map(rows -> rows.rowCount() == 1 ? Outcome.DONE : Outcome.LIMIT);
  }

  public Future<Optional<Stored>> find(String accountId, String id) {
    return pool.preparedQuery(FIND).execute(Tuple.of(accountId, id)).map(rows -> rows.size() == 0
        ? Optional.empty() : Optional.of(stored(rows.iterator().next())));
  }

  /** Up to {@code limit} of the account's certificates after id {@code after}, in id order. */
  public Future<List<Stored>> list(String accountId, String after, int limit) {
    return pool.preparedQuery(LIST).execute(Tuple.of(accountId, after, limit)).map(rows -> {
      List<Stored> out = new ArrayList<>();
      rows.forEach(r -> out.add(stored(r)));
      return out;
    });
  }

  /** Deletes the certificate, unless an identity's address uses it (IN_USE). */
  public Future<Outcome> delete(String accountId, String id) {
    return pool.preparedQuery(DELETE).execute(Tuple.of(accountId, id)).compose(rows -> rows.rowCount() == 1
        ? Future.succeededFuture(Outcome.DONE)
        : pool.preparedQuery(EXISTS).execute(Tuple.of(accountId, id))
            .map(found -> found.size() == 0 ? Outcome.NOT_FOUND : Outcome.IN_USE));
  }

  /** Associates the certificate with the identity's address: EXISTS when the address has one, NOT_FOUND without it. */
  public Future<Outcome> associate(String accountId, String identity, String fromAddress, String certificateId,
      Instant now) {
    return pool.preparedQuery(ASSOCIATE).execute(Tuple.of(accountId, identity, certificateId, fromAddress,
        Timestamps.utc(now))).compose(rows -> rows.rowCount() == 1 ? Future.succeededFuture(Outcome.DONE)
            : pool.preparedQuery(EXISTS).execute(Tuple.of(accountId, certificateId))
                .map(found -> found.size() == 0 ? Outcome.NOT_FOUND : Outcome.EXISTS));
  }

  /** The addresses the certificate signs for. */
  public Future<List<String>> addresses(String accountId, String certificateId) {
    return pool.preparedQuery(ADDRESSES).execute(Tuple.of(accountId, certificateId)).map(rows -> {
      List<String> out = new ArrayList<>();
      rows.forEach(r -> out.add(r.getString(0)));
      return out;
    });
  }

  /** Removes the address's association, if there is one. */
  public Future<Void> disassociate(String accountId, String identity, String fromAddress) {
    return pool.preparedQuery(DISASSOCIATE).execute(Tuple.of(accountId, identity, fromAddress)).mapEmpty();
  }

  /** Up to {@code limit} of the identity's associations after address {@code after}, in address order. */
  public Future<List<Association>> associations(String accountId, String identity, String after, int limit) {
    return pool.preparedQuery(ASSOCIATIONS).execute(Tuple.of(accountId, identity, after, limit)).map(rows -> {
      List<Association> out = new ArrayList<>();
      rows.forEach(r -> out.add(new Association(r.getString(0), r.getString(1), r.getString(2),
          r.getOffsetDateTime(3).toInstant())));
      return out;
    });
  }

  /** The certificate (and its key, unsealed) that signs for the address, if one does. */
  public Future<Optional<SmimeCertificate>> signer(String accountId, String fromAddress) {
    return pool.preparedQuery(SIGNER).execute(Tuple.of(accountId, fromAddress)).map(rows -> {
      if (rows.size() == 0) {
        return Optional.empty();
      }
      Row r = rows.iterator().next();
      byte[] key = secrets.decrypt(r.getBuffer(3).getBytes(), keyBinding(accountId, r.getString(0)));
      return Optional.of(SmimeCertificate.stored(r.getString(1), r.getString(2), key));
    });
  }

  private static String keyBinding(String accountId, String id) {
    return "smime-key:" + accountId + ":" + id;
  }

  private static Stored stored(Row r) {
    String[] inUse = r.getArrayOfStrings(10);
    return new Stored(r.getString(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4),
        r.getString(5), r.getString(6), r.getOffsetDateTime(7).toInstant(), r.getOffsetDateTime(8).toInstant(),
        r.getOffsetDateTime(9).toInstant(), inUse == null ? List.of() : List.of(inUse));
  }

  /** A certificate in PEM. */
  public static String pem(X509Certificate cert) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(cert);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e); // a StringWriter does not fail
    }
    return out.toString();
  }
}
