package io.mailgate.delivery.dns;

import java.util.List;

/**
 * What DNS said about one name and record type. The four kinds matter to callers: a DKIM check
 * keeps an identity verified through an {@link Unavailable} answer but not through a
 * {@link NoSuchDomain}; route resolution falls back to A/AAAA on {@link NoRecords} only.
 *
 * @param <T> the record value: {@link MxRecord}, {@link java.net.InetAddress}, {@link TlsaRecord}, or {@link String}
 *     for TXT and PTR
 */
public sealed interface DnsAnswer<T>
    permits DnsAnswer.Found, DnsAnswer.NoRecords, DnsAnswer.NoSuchDomain, DnsAnswer.Unavailable {

  /** The name asked about, canonical: A-labels, lower case, no trailing dot. */
  String name();

  /** The records found; empty for every kind but {@link Found}. */
  default List<T> records() {
    return List.of();
  }

  /**
   * Whether the resolver said the answer is authentic (DNSSEC-validated: the AD bit, RFC 4035 3.2.3), every CNAME on
   * the way to it too. Only as good as the resolver and the path to it: a validating resolver on the machine, as
   * Postfix's DANE asks. Never for a failure.
   */
  default boolean authenticated() {
    return false;
  }

  /** At least one record of the type (after following CNAMEs). */
  record Found<T>(String name, List<T> records, boolean authenticated) implements DnsAnswer<T> {
    public Found {
      records = List.copyOf(records);
      if (records.isEmpty()) {
        throw new IllegalArgumentException("Found needs at least one record");
      }
    }

    /** Not authenticated. */
    public Found(String name, List<T> records) {
      this(name, records, false);
    }
  }

  /** The name exists but has no record of this type (NOERROR with an empty answer, "NODATA"). */
  record NoRecords<T>(String name, boolean authenticated) implements DnsAnswer<T> {
    /** Not authenticated. */
    public NoRecords(String name) {
      this(name, false);
    }
  }

  /** The name does not exist (NXDOMAIN): an authoritative, permanent answer. */
  record NoSuchDomain<T>(String name, boolean authenticated) implements DnsAnswer<T> {
    /** Not authenticated. */
    public NoSuchDomain(String name) {
      this(name, false);
    }
  }

  /** No usable answer: SERVFAIL, REFUSED, timeout, network error. Asking again later may work. */
  record Unavailable<T>(String name, String reason) implements DnsAnswer<T> {}
}
