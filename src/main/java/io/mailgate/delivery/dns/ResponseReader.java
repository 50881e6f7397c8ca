package io.mailgate.delivery.dns;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.dns.DefaultDnsRecordDecoder;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one DNS response into an answer with the TTL it may be cached for: follows the CNAME
 * chain inside the answer section, takes the negative TTL from the SOA in the authority section
 * (RFC 2308 section 5: the smaller of the SOA's TTL and its MINIMUM field), and tells when the
 * chain leads to a name whose records the server did not include, so it must be asked for. An answer keeps what its
 * {@link RecordType} allows (its most preferred MX records, the first addresses, 16 K characters of TXT): a name's
 * owner cannot make it a megabyte of objects in the cache.
 */
final class ResponseReader {
  private ResponseReader() {}

  /** A TTL the response did not give: a negative answer without SOA, or a failure. */
  static final long UNKNOWN_TTL = -1;

  /** Longest CNAME chain followed, within one response and across queries. */
  static final int MAX_CNAME_HOPS = 8;

  sealed interface Reading {}

  /** The answer for the name, cacheable for {@code ttlSeconds} ({@link #UNKNOWN_TTL} if not said). */
  record Answered(DnsAnswer<?> answer, long ttlSeconds) implements Reading {}

  /**
   * The name is an alias of {@code target}, whose records were not in the response: ask for them. {@code
   * authenticated}: the response had the AD bit, so the aliases on the way were authentic.
   */
  record Redirected(String target, long ttlSeconds, boolean authenticated) implements Reading {}

  /** The AD bit (RFC 4035 3.2.3), which Netty's decoder leaves in the header's Z field, beside Z and CD. */
  private static final int AUTHENTIC_DATA = 0b010;

  /** Whether the resolver said all of the response is authentic. */
  static boolean authenticated(DnsResponse response) {
    return (response.z() & AUTHENTIC_DATA) != 0;
  }

  /**
   * @param name the name the caller asked about (the answer carries it)
   * @param asked the name this query was for: {@code name}, or a CNAME target of it
   * @param trustAd whether the AD bit of the server that answered is believed
   */
  static <T> Reading read(DnsResponse response, String name, String asked, RecordType<T> type, boolean trustAd) {
    DnsResponseCode code = response.code();
    boolean authentic = trustAd && authenticated(response);
    if (code.equals(DnsResponseCode.NXDOMAIN)) {
      return new Answered(new DnsAnswer.NoSuchDomain<T>(name, authentic), negativeTtl(response));
    }
    if (!code.equals(DnsResponseCode.NOERROR)) {
      return new Answered(new DnsAnswer.Unavailable<T>(name, describe(code)), UNKNOWN_TTL);
    }
    long ttl = Long.MAX_VALUE;
    String target = asked;
    for (int hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      DnsRecord alias = answerRecord(response, target, DnsRecordType.CNAME);
      if (alias == null || type.wire.equals(DnsRecordType.CNAME)) {
        break;
      }
      ttl = Math.min(ttl, alias.timeToLive());
      target = DnsNames.fromWire(DefaultDnsRecordDecoder.decodeName(((DnsRawRecord) alias).content().duplicate()));
    }
    List<T> values = new ArrayList<>();
    int characters = 0;
    boolean leftOut = false;
    int count = response.count(DnsSection.ANSWER);
    // an ordered type is read whole, so its first records in that order are the ones kept
    for (int i = 0; i < count && (type.order != null || values.size() < type.maxRecords); i++) {
      DnsRecord record = response.recordAt(DnsSection.ANSWER, i);
      if (record.type().equals(type.wire) && DnsNames.fromWire(record.name()).equals(target)) {
        try {
          T value = type.reader.read(target, record);
          int length = type.characters.applyAsInt(value);
          if (length > type.maxCharacters - characters) {
            leftOut = true;
            continue;
          }
          characters += length;
          values.add(value);
          ttl = Math.min(ttl, record.timeToLive());
        } catch (Exception malformed) {
          // One bad record (wrong RDATA length, broken name) must not hide the good ones.
        }
      }
    }
    if (response.isTruncated()) {
      // Still truncated: the TCP retry did not happen or failed. What it holds may be part of the set (the primary
      // MX missing, a DKIM key cut off): not an answer to use or cache (RFC 2181 9), but a reason to ask again.
      return new Answered(new DnsAnswer.Unavailable<T>(name, "truncated answer"), UNKNOWN_TTL);
    }
    if (!values.isEmpty()) {
      if (type.order != null) {
        values.sort(type.order);
      }
      return new Answered(new DnsAnswer.Found<>(name, values.subList(0, Math.min(values.size(), type.maxRecords)),
          authentic), ttl);
    }
    if (leftOut) {
      // every record longer than an answer keeps: not "no records", which would fail a DKIM key or an SPF for good
      return new Answered(new DnsAnswer.Unavailable<T>(name, type + " records longer than " + type.maxCharacters
          + " characters"), UNKNOWN_TTL);
    }
    long negative = negativeTtl(response);
    if (!target.equals(asked) && negative == UNKNOWN_TTL) {
      return new Redirected(target, ttl, authentic);
    }
    if (negative == UNKNOWN_TTL && hasAuthority(response, DnsRecordType.NS)) {
      // a referral (NS records, no SOA) is not "no data" (RFC 2308 2.2): a server that does not recurse for us, and
      // says nothing about the name; read as no records, a domain's mail would bounce for good
      return new Answered(new DnsAnswer.Unavailable<T>(name, "referral: the DNS server did not resolve the name"),
          UNKNOWN_TTL);
    }
    return new Answered(new DnsAnswer.NoRecords<T>(name, authentic),
        negative == UNKNOWN_TTL ? negative : Math.min(ttl, negative));
  }

  private static boolean hasAuthority(DnsResponse response, DnsRecordType type) {
    int count = response.count(DnsSection.AUTHORITY);
    for (int i = 0; i < count; i++) {
      if (response.recordAt(DnsSection.AUTHORITY, i).type().equals(type)) {
        return true;
      }
    }
    return false;
  }

  private static DnsRecord answerRecord(DnsResponse response, String owner, DnsRecordType type) {
    int count = response.count(DnsSection.ANSWER);
    for (int i = 0; i < count; i++) {
      DnsRecord record = response.recordAt(DnsSection.ANSWER, i);
      if (record.type().equals(type) && record instanceof DnsRawRecord && DnsNames.fromWire(record.name()).equals(owner)) {
        return record;
      }
    }
    return null;
  }

  /** RFC 2308 section 5: min(SOA TTL, SOA MINIMUM); {@link #UNKNOWN_TTL} without an SOA. */
  static long negativeTtl(DnsResponse response) {
    int count = response.count(DnsSection.AUTHORITY);
    for (int i = 0; i < count; i++) {
      DnsRecord record = response.recordAt(DnsSection.AUTHORITY, i);
      if (record.type().equals(DnsRecordType.SOA) && record instanceof DnsRawRecord raw) {
        try {
          ByteBuf rdata = raw.content().duplicate();
          DefaultDnsRecordDecoder.decodeName(rdata); // MNAME
          DefaultDnsRecordDecoder.decodeName(rdata); // RNAME
          rdata.skipBytes(16); // SERIAL, REFRESH, RETRY, EXPIRE
          long minimum = rdata.readUnsignedInt();
          return Math.min(record.timeToLive(), minimum);
        } catch (RuntimeException malformed) {
          return UNKNOWN_TTL;
        }
      }
    }
    return UNKNOWN_TTL;
  }

  static String describe(DnsResponseCode code) {
    if (code.equals(DnsResponseCode.SERVFAIL)) {
      return "server failure (SERVFAIL)";
    }
    if (code.equals(DnsResponseCode.REFUSED)) {
      return "query refused (REFUSED)";
    }
    if (code.equals(DnsResponseCode.FORMERR)) {
      return "format error (FORMERR)";
    }
    if (code.equals(DnsResponseCode.NOTIMP)) {
      return "query not implemented (NOTIMP)";
    }
    return "DNS response code " + code.intValue();
  }
}
