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

  static final RecordType<InetAddress> A = new RecordType<>(DnsRecordType.A, RecordType::address, null);
  static final RecordType<InetAddress> AAAA = new RecordType<>(DnsRecordType.AAAA, RecordType::address, null);
  static final RecordType<MxRecord> MX = new RecordType<>(DnsRecordType.MX, RecordType::mx,
      Comparator.comparingInt(MxRecord::preference).thenComparing(MxRecord::exchange));
  static final RecordType<String> TXT = new RecordType<>(DnsRecordType.TXT, RecordType::txt, null);
  static final RecordType<String> PTR = new RecordType<>(DnsRecordType.PTR, RecordType::ptr, null);

  final DnsRecordType wire;
  final RdataReader<T> reader;
  /** The order answers are kept in, sorted once when read; null: as the server sent them. */
  final Comparator<T> order;

  private RecordType(DnsRecordType wire, RdataReader<T> reader, Comparator<T> order) {
    this.wire = wire;
    this.reader = reader;
    this.order = order;
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
