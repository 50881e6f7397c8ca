package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** SQL for identities; every query is scoped to one account. */
public final class IdentityStore {
  /**
   * An address whose last verification link has stopped working unfollowed reads FAILED, as in SES; its stored status
   * stays PENDING, so that a new link (a verification email sent again) makes it PENDING again by itself. A verified
   * domain whose records went missing reads TEMPORARY_FAILURE until they are back or it is FAILED
   * ({@code verification_expires_at}: when); its stored status stays SUCCESS, as the SQL that receives mail for verified
   * domains and their MAIL FROM domains has it (SES: still verified meanwhile).
   */
  static final String COLUMNS = "account_id, identity, type, "
      + "CASE WHEN verification_status = 'PENDING' AND verification_expires_at <= now() THEN 'FAILED' "
      + "WHEN type = 'DOMAIN' AND verification_status = 'SUCCESS' AND verification_expires_at IS NOT NULL "
      + "THEN 'TEMPORARY_FAILURE' ELSE verification_status END, dkim_signing_enabled, dkim_status, "
      + "dkim_origin, dkim_selector, dkim_key_length, dkim_public_key, dkim_key_created_at, mail_from_domain, "
      + "mail_from_status, mail_from_behavior, configuration_set, tags, created_at, dkim_private_key, "
      + "dkim_next_selector, dkim_next_key_length, dkim_next_public_key";

  /** An identity with its encrypted DKIM private key (never leaves the node). */
  public record Stored(Identity identity, byte[] encryptedPrivateKey) {}

  private final Pool pool;

  public IdentityStore(Pool pool) {
    this.pool = pool;
  }

  private static final String INSERT = "INSERT INTO identities (account_id, identity, type, verification_status, "
      + "verified_at, dkim_signing_enabled, dkim_status, dkim_origin, dkim_selector, dkim_key_length, dkim_private_key, "
      + "dkim_public_key, dkim_key_created_at, dkim_pending_since, configuration_set, tags) VALUES "
      + "($1, $2, $3, $4, CASE WHEN $4 = 'SUCCESS' THEN now() END, $5, $6, $7, $8, $9, $10, $11, "
      + "CASE WHEN $10::bytea IS NOT NULL THEN now() END, CASE WHEN $6 = 'PENDING' THEN now() END, $12, "
      + "$13::text::jsonb)";

  /** How many identities an account has, and whether {@code name} is one of them. */
  public record Room(long identities, boolean taken) {}

  public Future<Room> room(String accountId, String name) {
    return pool.preparedQuery("SELECT count(*), coalesce(bool_or(identity = $2), false) FROM identities "
            + "WHERE account_id = $1")
        .execute(Tuple.of(accountId, name))
        .map(rows -> new Room(rows.iterator().next().getLong(0), rows.iterator().next().getBoolean(1)));
  }

  /**
   * Whether {@code accountId}'s verification email may go to {@code address} now: none of its went there in the last
   * {@code cooldownMillis}; if so, records that one goes now (one statement: two nodes asking at once get one yes).
   * Each account's own: another's asking cannot keep this one's from going.
   */
  public Future<Boolean> claimVerificationEmail(String accountId, String address, long cooldownMillis) {
    return pool.preparedQuery("""
            INSERT INTO verification_emails (address, account_id, sent_at) VALUES ($1, $3, now())
            ON CONFLICT (address, account_id) DO UPDATE SET sent_at = now()
            WHERE verification_emails.sent_at <= now() - $2::bigint * interval '1 millisecond'
            RETURNING 1""")
        .execute(Tuple.of(address, cooldownMillis, accountId)).map(rows -> rows.size() == 1);
  }

  /**
   * The address identity's time to be verified ends in {@code ttlSeconds}: an unverified identity is PENDING until then
   * (again, if it had FAILED), and FAILED after. {@code sent}: a new link went out; otherwise only an identity with no
   * such time yet gets one.
   */
  public Future<Void> linkSent(String accountId, String address, long ttlSeconds, boolean sent) {
    return pool.preparedQuery("UPDATE identities SET verification_expires_at = now() + $3::bigint * interval '1 second' "
            + "WHERE account_id = $1 AND identity = $2 AND verification_status <> 'SUCCESS' "
            + "AND ($4 OR verification_expires_at IS NULL)")
        .execute(Tuple.of(accountId, address, ttlSeconds, sent)).mapEmpty();
  }

  /** The address is no longer held by {@link #claimVerificationEmail}: its email could not be sent after all. */
  public Future<Void> releaseVerificationEmail(String accountId, String address) {
    return pool.preparedQuery("DELETE FROM verification_emails WHERE address = $1 AND account_id = $2")
        .execute(Tuple.of(address, accountId)).mapEmpty();
  }

  public Future<Void> insert(Identity i, byte[] encryptedPrivateKey) {
    return pool.preparedQuery(INSERT).execute(values(i, encryptedPrivateKey))
        .<Void>mapEmpty()
        .recover(e -> e instanceof PgException pg && "23505".equals(pg.getSqlState())
            ? Future.failedFuture(new SesException(SesError.ALREADY_EXISTS, "Email identity " + i.name() + " already exists."))
            : Future.failedFuture(e));
  }

  /**
   * Inserts a verified identity, or marks the existing one verified: one statement, so two event loops doing it
   * for the same new address at once neither fail nor leave an error in PostgreSQL's log.
   */
  public Future<Void> insertOrVerify(Identity i) {
    return pool.preparedQuery(INSERT + " ON CONFLICT (account_id, identity) DO UPDATE SET "
            + "verification_status = 'SUCCESS', verified_at = now()")
        .execute(values(i, null)).mapEmpty();
  }

  /** Inserts the identity unless the account has it already (left as it is); whether it was inserted. */
  public Future<Boolean> insertIfAbsent(Identity i) {
    return pool.preparedQuery(INSERT + " ON CONFLICT (account_id, identity) DO NOTHING").execute(values(i, null))
        .map(r -> r.rowCount() == 1);
  }

  private static Tuple values(Identity i, byte[] encryptedPrivateKey) {
    return Tuple.from(new Object[] {i.accountId(), i.name(), i.type().name(), i.verificationStatus().name(),
        i.dkimSigningEnabled(), i.dkimStatus().name(), i.dkimOrigin(), i.dkimSelector(), i.dkimKeyLength(),
        encryptedPrivateKey == null ? null : Buffer.buffer(encryptedPrivateKey), i.dkimPublicKey(),
        i.configurationSet(), i.tags() == null ? "[]" : i.tags().encode()});
  }

  public Future<Optional<Stored>> find(String accountId, String name) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM identities WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(toStored(rows.iterator().next())));
  }

  public Future<List<Stored>> findAll(String accountId, List<String> names) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM identities WHERE account_id = $1 AND identity = ANY($2)")
        .execute(Tuple.of(accountId, (Object) names.toArray(String[]::new)))
        .map(IdentityStore::toList);
  }

  /**
   * One page, ordered by name, starting after {@code after} (exclusive; null for the first page); {@code nameContains}:
   * only names that contain it, whatever the case (null: all; names are stored lower-cased, but for a local part).
   */
  public Future<List<Stored>> page(String accountId, String after, int limit, String nameContains) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM identities WHERE account_id = $1 "
            + "AND ($2::text IS NULL OR identity > $2) AND ($4::text IS NULL OR strpos(lower(identity), lower($4)) > 0) "
            + "ORDER BY identity LIMIT $3")
        .execute(Tuple.of(accountId, after, limit, nameContains))
        .map(IdentityStore::toList);
  }

  /**
   * Up to {@code limit} identity names by name after {@code after}, of one type when {@code type} is given, verified
   * ones only when {@code verifiedOnly}: the filter is the query's, so a page costs its own rows whatever the account
   * holds besides.
   */
  public Future<List<String>> names(String accountId, String after, Identity.Type type, boolean verifiedOnly,
      int limit) {
    return pool.preparedQuery("SELECT identity FROM identities WHERE account_id = $1 "
            + "AND ($2::text IS NULL OR identity > $2) AND ($3::text IS NULL OR type = $3) "
            + "AND (NOT $4 OR verification_status = 'SUCCESS') ORDER BY identity LIMIT $5")
        .execute(Tuple.of(accountId, after, type == null ? null : type.name(), verifiedOnly, limit))
        .map(rows -> {
          List<String> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(r.getString(0));
          }
          return out;
        });
  }

  /**
   * A domain's verification or DKIM that FAILED starts again (SES v1's VerifyDomainIdentity and VerifyDomainDkim do
   * that): PENDING, timed out from now, checked at the next round; one still PENDING or whose records went missing
   * (TEMPORARY_FAILURE, its MAIL FROM's too) is checked at the next round too ({@link Identity#awaitsDns}). False when
   * there is nothing to check: the domain and what it has set up are verified (or it is not the account's).
   */
  public Future<Boolean> restartDomainVerification(String accountId, String name) {
    return pool.preparedQuery("UPDATE identities SET "
            + "verification_status = CASE WHEN verification_status = 'FAILED' THEN 'PENDING' ELSE verification_status END, "
            + "dkim_pending_since = CASE WHEN dkim_status = 'FAILED' THEN now() ELSE dkim_pending_since END, "
            + "dkim_status = CASE WHEN dkim_status = 'FAILED' THEN 'PENDING' ELSE dkim_status END, "
            + "dns_checked_at = NULL "
            + "WHERE account_id = $1 AND identity = $2 AND type = 'DOMAIN' "
            + "AND (verification_status IN ('FAILED', 'PENDING', 'TEMPORARY_FAILURE') "
            + "OR dkim_status IN ('FAILED', 'PENDING', 'TEMPORARY_FAILURE') "
            + "OR mail_from_status IN ('PENDING', 'TEMPORARY_FAILURE'))")
        .execute(Tuple.of(accountId, name)).map(r -> r.rowCount() == 1);
  }

  /** Deletes the identity, and VDM's recommendations for it with it (one statement); false when there was none. */
  public Future<Boolean> delete(String accountId, String name) {
    return pool.preparedQuery(DELETE).execute(Tuple.of(accountId, name)).map(r -> r.iterator().next().getLong(0) == 1);
  }

  static final String DELETE = """
      WITH gone AS (DELETE FROM identities WHERE account_id = $1 AND identity = $2 RETURNING identity),
      advice AS (DELETE FROM vdm_recommendations r USING gone WHERE r.account_id = $1 AND r.identity = gone.identity)
      SELECT count(*) FROM gone""";

  public Future<Boolean> setVerified(String accountId, String name) {
    return pool.preparedQuery("UPDATE identities SET verification_status = 'SUCCESS', verified_at = now() "
            + "WHERE account_id = $1 AND identity = $2").execute(Tuple.of(accountId, name)).map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> setDkimSigningEnabled(String accountId, String name, boolean enabled) {
    return pool.preparedQuery("UPDATE identities SET dkim_signing_enabled = $3 WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.of(accountId, name, enabled)).map(r -> r.rowCount() == 1);
  }

  /** The identity's default configuration set (PutEmailIdentityConfigurationSetAttributes); null: none. */
  public Future<Boolean> setConfigurationSet(String accountId, String name, String configurationSet) {
    return pool.preparedQuery("UPDATE identities SET configuration_set = $3 WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.of(accountId, name, configurationSet)).map(r -> r.rowCount() == 1);
  }

  /**
   * A domain's next Easy DKIM key, while its verified key goes on signing: the next key takes its place once its record
   * is found ({@link #recordDnsCheck}). A next key staged before is replaced.
   */
  public Future<Boolean> stageDkimKey(String accountId, String name, String selector, String keyLength,
      byte[] encryptedPrivateKey, String publicKey) {
    return pool.preparedQuery("UPDATE identities SET dkim_next_selector = $3, dkim_next_key_length = $4, "
            + "dkim_next_private_key = $5, dkim_next_public_key = $6, dns_checked_at = NULL "
            + "WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.from(new Object[] {accountId, name, selector, keyLength, Buffer.buffer(encryptedPrivateKey),
            publicKey}))
        .map(r -> r.rowCount() == 1);
  }

  /** A new DKIM key (generated or brought): DKIM verification starts again; a staged next key is dropped. */
  public Future<Boolean> setDkimKey(String accountId, String name, String origin, String selector, String keyLength,
      byte[] encryptedPrivateKey, String publicKey, boolean verifiedAtOnce) {
    String status = verifiedAtOnce ? "SUCCESS" : "PENDING";
    return pool.preparedQuery("UPDATE identities SET dkim_origin = $3, dkim_selector = $4, dkim_key_length = $5, "
            + "dkim_private_key = $6, dkim_public_key = $7, dkim_key_created_at = now(), dkim_status = $8, "
            + "dkim_pending_since = CASE WHEN $8 = 'PENDING' THEN now() END, dns_checked_at = NULL, "
            + "dkim_next_selector = NULL, dkim_next_key_length = NULL, dkim_next_private_key = NULL, "
            + "dkim_next_public_key = NULL, "
            + "verification_status = CASE WHEN $8 = 'SUCCESS' THEN 'SUCCESS' ELSE verification_status END "
            + "WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.from(new Object[] {accountId, name, origin, selector, keyLength,
            Buffer.buffer(encryptedPrivateKey), publicKey, status}))
        .map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> setMailFrom(String accountId, String name, String domain, String behavior, String status) {
    return pool.preparedQuery("UPDATE identities SET mail_from_domain = $3, mail_from_behavior = $4, "
            + "mail_from_status = $5, mail_from_pending_since = CASE WHEN $5 = 'PENDING' THEN now() END, "
            + "dns_checked_at = NULL WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.of(accountId, name, domain, behavior, status)).map(r -> r.rowCount() == 1);
  }

  /**
   * Takes up to {@code limit} domain identities whose DNS check is due, marking them checked now; nodes checking at
   * the same time take different rows. Accounts take turns: each account's longest-waiting domain comes before any
   * account's second, so that one account's thousands of domains (pending ones are checked for 72 hours) do not put
   * another's newly published record hours back.
   */
  public Future<List<DnsCheck>> dueForDnsCheck(int limit, int intervalSeconds) {
    return pool.preparedQuery("""
            WITH waiting AS (
              SELECT account_id, identity, dns_checked_at,
                     row_number() OVER (PARTITION BY account_id ORDER BY dns_checked_at NULLS FIRST) AS turn
              FROM identities
              WHERE type = 'DOMAIN' AND (dns_checked_at IS NULL OR dns_checked_at < now() - $2::int * interval '1 second')
                AND (dkim_status IN ('PENDING', 'SUCCESS', 'TEMPORARY_FAILURE')
                     OR mail_from_status IN ('PENDING', 'SUCCESS', 'TEMPORARY_FAILURE')
                     OR verification_status IN ('PENDING', 'SUCCESS'))),
            due AS (
              SELECT i.account_id, i.identity FROM identities i
              JOIN (SELECT account_id, identity, turn, dns_checked_at FROM waiting
                    ORDER BY turn, dns_checked_at NULLS FIRST LIMIT $1) w
                ON i.account_id = w.account_id AND i.identity = w.identity
              FOR UPDATE OF i SKIP LOCKED)
            UPDATE identities i SET dns_checked_at = now() FROM due
            WHERE i.account_id = due.account_id AND i.identity = due.identity
            RETURNING i.account_id, i.identity, i.dkim_status, i.dkim_selector, i.dkim_public_key, i.dkim_pending_since,
                      i.mail_from_domain, i.mail_from_status, i.mail_from_pending_since, i.verification_status,
                      i.dkim_next_selector, i.dkim_next_public_key,
                      i.dns_checked_at, i.verification_expires_at""")
        .execute(Tuple.of(limit, intervalSeconds))
        .map(rows -> {
          List<DnsCheck> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new DnsCheck(r.getString(0), r.getString(1), Identity.Status.valueOf(r.getString(2)),
                r.getString(3), r.getString(4), instant(r.getOffsetDateTime(5)), r.getString(6),
                r.getString(7) == null ? null : Identity.Status.valueOf(r.getString(7)), instant(r.getOffsetDateTime(8)),
                Identity.Status.valueOf(r.getString(9)), instant(r.getOffsetDateTime(13)), r.getOffsetDateTime(12),
                r.getString(10), r.getString(11)));
          }
          return out;
        });
  }

  /**
   * What a DNS check needs to know about one domain identity. {@code verificationStatus} is the stored one (SUCCESS for
   * a domain in TEMPORARY_FAILURE); {@code verificationFailsAt}: a verified domain's records are missing, and it is
   * FAILED at that time unless one is found again.
   */
  public record DnsCheck(String accountId, String domain, Identity.Status dkimStatus, String selector,
      String publicKey, Instant dkimPendingSince, String mailFromDomain, Identity.Status mailFromStatus,
      Instant mailFromPendingSince, Identity.Status verificationStatus, Instant verificationFailsAt,
      OffsetDateTime takenAt, String nextSelector, String nextPublicKey) {}

  /**
   * What a round of DNS checks found. The domain is verified by its DKIM record or, as SES v1 verifies domains, by its
   * {@code _amazonses} token: {@code verification} is its status as stored (SUCCESS while in TEMPORARY_FAILURE) and
   * {@code failsAt} when a verified domain whose records are missing is FAILED (null: not missing).
   */
  public Future<Void> recordDnsCheck(DnsCheck c, Identity.Status dkim, Identity.Status mailFrom,
      Identity.Status verification, Instant failsAt, boolean nextKeyFound) {
    return pool.preparedQuery("UPDATE identities SET dkim_status = $3, mail_from_status = $4, "
            // the next key's record is published: it takes the current key's place (and signs from now on)
            + "dkim_selector = CASE WHEN $7 THEN dkim_next_selector ELSE dkim_selector END, "
            + "dkim_key_length = CASE WHEN $7 THEN dkim_next_key_length ELSE dkim_key_length END, "
            + "dkim_private_key = CASE WHEN $7 THEN dkim_next_private_key ELSE dkim_private_key END, "
            + "dkim_public_key = CASE WHEN $7 THEN dkim_next_public_key ELSE dkim_public_key END, "
            + "dkim_key_created_at = CASE WHEN $7 THEN now() ELSE dkim_key_created_at END, "
            + "dkim_next_selector = CASE WHEN $7 THEN NULL ELSE dkim_next_selector END, "
            + "dkim_next_key_length = CASE WHEN $7 THEN NULL ELSE dkim_next_key_length END, "
            + "dkim_next_private_key = CASE WHEN $7 THEN NULL ELSE dkim_next_private_key END, "
            + "dkim_next_public_key = CASE WHEN $7 THEN NULL ELSE dkim_next_public_key END, "
            + "verification_status = $5, verification_expires_at = $8, "
            + "verified_at = CASE WHEN $5 = 'SUCCESS' AND verified_at IS NULL THEN now() ELSE verified_at END, "
            // a record once found and now gone for good (its owner may have changed: receiving stops), not one never
            // found; found again, it is not lost
            + "dkim_lost_at = CASE WHEN $3 = 'FAILED' AND dkim_status = 'TEMPORARY_FAILURE' THEN now() "
            + "  WHEN $3 = 'SUCCESS' THEN NULL ELSE dkim_lost_at END, "
            + "dkim_pending_since = CASE WHEN $3 = 'SUCCESS' THEN NULL WHEN dkim_pending_since IS NULL AND $3 IN "
            + "  ('PENDING', 'TEMPORARY_FAILURE') THEN now() ELSE dkim_pending_since END, "
            + "mail_from_pending_since = CASE WHEN $4 = 'SUCCESS' THEN NULL WHEN mail_from_pending_since IS NULL AND $4 "
            + "  IN ('PENDING', 'TEMPORARY_FAILURE') THEN now() ELSE mail_from_pending_since END "
            + "WHERE account_id = $1 AND identity = $2 AND dns_checked_at = $6")
        // only if nothing changed the row since it was taken: a new key, a new MAIL FROM domain and a restarted
        // verification clear dns_checked_at, and a result about what was there before is not about them
        .execute(Tuple.from(new Object[] {c.accountId(), c.domain(), dkim.name(),
            mailFrom == null ? null : mailFrom.name(), verification.name(), c.takenAt(), nextKeyFound,
            failsAt == null ? null : OffsetDateTime.ofInstant(failsAt, java.time.ZoneOffset.UTC)}))
        .mapEmpty();
  }

  /**
   * The notification settings of those of {@code names} the account has: the topics are the identity's event
   * destinations, one per notification type, named after it.
   */
  public Future<List<IdentityNotifications>> notifications(String accountId, List<String> names) {
    return pool.preparedQuery("SELECT i.identity, i.feedback_forwarding, i.notification_headers, "
            + "ARRAY(SELECT d.name FROM event_destinations d WHERE d.account_id = i.account_id "
            + "AND d.identity = i.identity ORDER BY d.name), "
            + "ARRAY(SELECT d.url FROM event_destinations d WHERE d.account_id = i.account_id "
            + "AND d.identity = i.identity ORDER BY d.name) "
            + "FROM identities i WHERE i.account_id = $1 AND i.identity = ANY($2)")
        .execute(Tuple.of(accountId, (Object) names.toArray(String[]::new)))
        .map(rows -> {
          List<IdentityNotifications> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            Map<NotificationType, String> topics = new EnumMap<>(NotificationType.class);
            String[] types = r.getArrayOfStrings(3);
            String[] urls = r.getArrayOfStrings(4);
            for (int i = 0; i < types.length; i++) {
              topics.put(NotificationType.fromSesName(types[i]), urls[i]);
            }
            Set<NotificationType> headers = EnumSet.noneOf(NotificationType.class);
            for (String t : r.getArrayOfStrings(2)) {
              headers.add(NotificationType.fromSesName(t));
            }
            out.add(new IdentityNotifications(r.getString(0), topics, r.getBoolean(1), headers));
          }
          return out;
        });
  }

  /**
   * Sets (a URL) or clears (null) the identity's topic for {@code type}; false when the account has no such identity.
   * Clearing the bounce or complaint topic while feedback forwarding is off is refused, as SES requires one or the
   * other; a cleared topic's waiting notifications are dropped. The identity's row is locked first, so this and
   * {@link #setFeedbackForwarding} cannot both pass their check.
   */
  public Future<Boolean> setNotificationTopic(String accountId, String name, NotificationType type, String url) {
    return pool.withTransaction(conn -> lockForNotifications(conn, accountId, name).compose(forwarding -> {
      if (forwarding == null) {
        return Future.succeededFuture(false);
      }
      if (url != null) {
        return conn.preparedQuery("INSERT INTO event_destinations (account_id, identity, name, enabled, event_types, "
                + "url) VALUES ($1, $2, $3, true, ARRAY[$3], $4) ON CONFLICT (account_id, identity, name) "
                + "WHERE identity IS NOT NULL DO UPDATE SET url = EXCLUDED.url")
            .execute(Tuple.of(accountId, name, type.sesName, url)).map(true);
      }
      return conn.preparedQuery("DELETE FROM event_destinations WHERE account_id = $1 AND identity = $2 AND name = $3 "
              + "RETURNING id")
          .execute(Tuple.of(accountId, name, type.sesName))
          .compose(deleted -> {
            if (deleted.size() == 0) {
              return Future.succeededFuture(true); // no such topic: nothing to refuse either
            }
            if (!forwarding && type != NotificationType.DELIVERY) {
              // the transaction rolls back: the topic stays
              return Future.failedFuture(SesException.badRequest("Feedback forwarding is disabled for identity "
                  + name + ". Enable feedback forwarding before clearing its "
                  + type.sesName.toLowerCase(java.util.Locale.ROOT) + " topic."));
            }
            return conn.preparedQuery("DELETE FROM event_outbox WHERE destination_id = $1")
                .execute(Tuple.of(deleted.iterator().next().getLong(0))).map(true);
          });
    }));
  }

  /**
   * Feedback forwarding on or off; false when the account has no such identity. With {@code requireTopics} (SES v1's
   * rule) off only when the identity has both a bounce and a complaint topic; SES v2 turns it off without them.
   */
  public Future<Boolean> setFeedbackForwarding(String accountId, String name, boolean enabled,
      boolean requireTopics) {
    return pool.withTransaction(conn -> lockForNotifications(conn, accountId, name).compose(forwarding -> {
      if (forwarding == null) {
        return Future.succeededFuture(false);
      }
      Future<Void> allowed = enabled || !requireTopics ? Future.succeededFuture() : conn.preparedQuery("SELECT count(*) FROM "
              + "event_destinations WHERE account_id = $1 AND identity = $2 AND name IN ('Bounce', 'Complaint')")
          .execute(Tuple.of(accountId, name))
          .compose(rows -> rows.iterator().next().getLong(0) == 2 ? Future.<Void>succeededFuture()
              : Future.failedFuture(SesException.badRequest("Feedback forwarding can only be disabled when "
                  + "identity " + name + " has both a bounce and a complaint topic.")));
      return allowed.compose(v -> conn.preparedQuery("UPDATE identities SET feedback_forwarding = $3 "
          + "WHERE account_id = $1 AND identity = $2").execute(Tuple.of(accountId, name, enabled)).map(true));
    }));
  }

  /** Whether the notifications of {@code type} carry the message's headers; false when there is no such identity. */
  public Future<Boolean> setHeadersInNotifications(String accountId, String name, NotificationType type,
      boolean enabled) {
    return pool.preparedQuery("UPDATE identities SET notification_headers = CASE WHEN NOT $4 "
            + "THEN array_remove(notification_headers, $3::text) WHEN $3 = ANY(notification_headers) "
            + "THEN notification_headers ELSE notification_headers || $3::text END "
            + "WHERE account_id = $1 AND identity = $2")
        .execute(Tuple.of(accountId, name, type.sesName, enabled)).map(r -> r.rowCount() == 1);
  }

  /** Locks the identity's row; its feedback forwarding, or null when the account has no such identity. */
  private static Future<Boolean> lockForNotifications(io.vertx.sqlclient.SqlConnection conn, String accountId,
      String name) {
    return conn.preparedQuery("SELECT feedback_forwarding FROM identities WHERE account_id = $1 AND identity = $2 "
            + "FOR UPDATE")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getBoolean(0));
  }

  private static Instant instant(OffsetDateTime t) {
    return t == null ? null : t.toInstant();
  }

  private static List<Stored> toList(RowSet<Row> rows) {
    List<Stored> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(toStored(r));
    }
    return out;
  }

  static Stored toStored(Row r) {
    Object tags = r.getValue(15);
    Identity i = new Identity(r.getString(0), r.getString(1), Identity.Type.valueOf(r.getString(2)),
        Identity.Status.valueOf(r.getString(3)), r.getBoolean(4), Identity.Status.valueOf(r.getString(5)),
        r.getString(6), r.getString(7), r.getString(8), r.getString(9), instant(r.getOffsetDateTime(10)),
        r.getString(11), r.getString(12) == null ? null : Identity.Status.valueOf(r.getString(12)), r.getString(13),
        r.getString(14), tags instanceof JsonArray a ? a : new JsonArray(String.valueOf(tags)),
        instant(r.getOffsetDateTime(16)), r.getString(18) == null ? null
            : new Identity.NextKey(r.getString(18), r.getString(19), r.getString(20)));
    Buffer key = r.getBuffer(17);
    return new Stored(i, key == null ? null : key.getBytes());
  }
}
