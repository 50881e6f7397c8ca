package io.mailgate.delivery.dns;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.dns.DefaultDnsRecordDecoder;
import io.netty.handler.codec.dns.DnsPtrRecord;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.function.ToIntFunction;

/**
 * A record type this resolver asks for, and how its RDATA becomes a value. Typed, so the cache
 * can hold answers of every type and hand each caller the type it asked for.
 */
final class RecordType<T> {

  /**
   * Reads one answer record's value. Netty's decoder leaves the RDATA of every type raw, its buffer spanning the RDATA
   * within the whole message (for compressed names), but PTR's, whose name it decodes itself.
   */
  interface RdataReader<T> {
    T read(String owner, DnsRecord record) throws UnknownHostException;
  }

  /*
   * What one answer keeps. An answer over TCP may be 64 KB, and with compressed names that is thousands of records:
   * 4,000 MX of 253-character names are a megabyte of objects, cached for up to a day, and whoever runs the DNS of a
   * domain can make this node ask for its names (a message's SPF, DKIM and DMARC, a send to it). The caps are far
   * above any real answer, so no route or verdict changes; what they leave out is the least preferred MX records, or
   * the records the server sent last.
   */

  /** Addresses: a route keeps 4 a host (maxAddressesPerHost); SPF's a and mx match against all of them. */
  static final RecordType<InetAddress> A = new RecordType<>(DnsRecordType.A, RecordType::address, null, 64);
  static final RecordType<InetAddress> AAAA = new RecordType<>(DnsRecordType.AAAA, RecordType::address, null, 64);
  /** A route tries 10 hosts (maxMxHosts); SPF's mx is a permerror past 10 records, still so with 64 kept. */
  static final RecordType<MxRecord> MX = new RecordType<>(DnsRecordType.MX, RecordType::mx,
      Comparator.comparingInt(MxRecord::preference).thenComparing(MxRecord::exchange), 64);
  /**
   * Users pick their record out of the name's TXT records (SPF v=spf1, DMARC v=DMARC1, MTA-STS v=STSv1, a DKIM key,
   * a verification token): an SPF record is a few hundred characters, a 4096-bit DKIM key about 800, and a domain's
   * whole TXT set a few kilobytes. A record longer than what is left of the 16 K characters is left out, the ones
   * after it still kept while they fit; 256 records at most, for a flood of tiny ones.
   */
  static final RecordType<String> TXT = new RecordType<>(DnsRecordType.TXT, RecordType::txt, null, 256,
      String::length, 16 * 1024);
  /** SPF validates the first 10 names of a PTR answer (RFC 7208 4.6.4), its only user. */
  static final RecordType<String> PTR = new RecordType<>(DnsRecordType.PTR, RecordType::ptr, null, 32);

  /**
   * A host has a few (a current key and the next one, of each usage it publishes); a record of a whole certificate is
   * a few kilobytes of hex.
   */
  static final RecordType<TlsaRecord> TLSA = new RecordType<>(DnsRecordType.TLSA, RecordType::tlsa, null, 32,
      r -> r.data().length(), 16 * 1024);

  final DnsRecordType wire;
  final RdataReader<T> reader;
  /** The order answers are kept in, sorted once when read; null: as the server sent them. */
  final Comparator<T> order;
  /** Records one answer keeps at most: the first in {@link #order}, or as sent. */
  final int maxRecords;
  /** The characters of text a value counts against {@link #maxCharacters}. */
  final ToIntFunction<T> characters;
  /** Characters of text one answer keeps at most, all its records together. */
  final int maxCharacters;

  /** A type whose values are small (addresses) or bounded (names of 253 characters): capped by count alone. */
  private RecordType(DnsRecordType wire, RdataReader<T> reader, Comparator<T> order, int maxRecords) {
    this(wire, reader, order, maxRecords, value -> 0, Integer.MAX_VALUE);
  }

  private RecordType(DnsRecordType wire, RdataReader<T> reader, Comparator<T> order, int maxRecords,
      ToIntFunction<T> characters, int maxCharacters) {
    this.wire = wire;
    this.reader = reader;
    this.order = order;
    this.maxRecords = maxRecords;
    this.characters = characters;
    this.maxCharacters = maxCharacters;
  }

  @Override
  public String toString() {
    return wire.name();
  }

  private static ByteBuf rdata(DnsRecord record) {
    return ((DnsRawRecord) record).content().duplicate();
  }

  private static InetAddress address(String owner, DnsRecord record) throws UnknownHostException {
    ByteBuf rdata = rdata(record);
    byte[] bytes = new byte[rdata.readableBytes()];
    if (bytes.length != 4 && bytes.length != 16) {
      throw new UnknownHostException("address of " + bytes.length + " bytes");
    }
    rdata.readBytes(bytes);
    // Carry the owner name: getHostName() then needs no reverse lookup, which would block.
    return InetAddress.getByAddress(owner, bytes);
  }

  private static MxRecord mx(String owner, DnsRecord record) {
    ByteBuf rdata = rdata(record);
    int preference = rdata.readUnsignedShort();
    // decodeName follows compression pointers: the buffer is the whole message, indexed at the RDATA.
    return new MxRecord(preference, DnsNames.fromWire(DefaultDnsRecordDecoder.decodeName(rdata)));
  }

  private static String ptr(String owner, DnsRecord record) {
    return DnsNames.fromWire(((DnsPtrRecord) record).hostname());
  }

  /**
   * Usage, selector and matching type, a byte each, then the association data (RFC 6698 2.1). One without data is
   * kept, as an unusable record: a signed set of nothing else still promises TLS (RFC 7672 2.2).
   */
  private static TlsaRecord tlsa(String owner, DnsRecord record) throws UnknownHostException {
    ByteBuf rdata = rdata(record);
    if (rdata.readableBytes() < 3) {
      throw new UnknownHostException("TLSA record of " + rdata.readableBytes() + " bytes");
    }
    int usage = rdata.readUnsignedByte();
    int selector = rdata.readUnsignedByte();
    int matchingType = rdata.readUnsignedByte();
    byte[] data = new byte[rdata.readableBytes()];
    rdata.readBytes(data);
    return new TlsaRecord(usage, selector, matchingType, java.util.HexFormat.of().formatHex(data));
  }

  /** A TXT record is one or more character strings; they are one value (RFC 6376 3.6.2.2, RFC 7208 3.3). */
  private static String txt(String owner, DnsRecord record) {
    ByteBuf rdata = rdata(record);
    // Strings are joined as bytes, then decoded: a UTF-8 character may straddle two strings.
    byte[] joined = new byte[rdata.readableBytes()];
    int size = 0;
    while (rdata.isReadable()) {
      int length = rdata.readUnsignedByte();
      rdata.readBytes(joined, size, length);
      size += length;
    }
    return new String(joined, 0, size, StandardCharsets.UTF_8);
  }
}
