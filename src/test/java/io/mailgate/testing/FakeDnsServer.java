package io.mailgate.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An authoritative DNS server for tests, on UDP and TCP at 127.0.0.1 (same random port for both),
 * standing in for the internet's DNS. Written on plain sockets with its own wire format, so it
 * shares no code with the resolver under test (which uses Netty's codec).
 *
 * <p>It behaves like a real server: answers carry the records' TTLs; names are compressed in
 * answers (MX, PTR and SOA RDATA included); an absent name is NXDOMAIN and an existing name without
 * the type is NOERROR with no answer, both with the zone's SOA in the authority section (for
 * negative caching); a CNAME is followed within its zone, and one leading to another zone is
 * answered alone, as an authoritative server does, for the client to follow; TXT values longer than 255 bytes
 * are split into several strings; a UDP answer larger than the client's EDNS buffer (512 bytes
 * without EDNS) is sent truncated, so the client must ask again over TCP. Failures on demand:
 * SERVFAIL, REFUSED, no answer at all, or a referral (what a server that does not recurse answers: NOERROR, no
 * answer, the zone's NS records in the authority section and no SOA, RA clear), per name (and type). Records can
 * change while it runs.
 * Every query is logged, to count what reached the wire.
 *
 * <p>The zone of a name, for its SOA, is its last two labels.
 */
public final class FakeDnsServer implements AutoCloseable {

  /** How the server fails a name instead of answering. */
  public enum Failure { SERVFAIL, REFUSED, DROP, REFERRAL }

  /** One query as received. {@code type} is the mnemonic ("MX"), or the number for other types. */
  public record Query(String name, String type, boolean tcp) {}

  private static final int A = 1;
  private static final int NS = 2;
  private static final int CNAME = 5;
  private static final int SOA = 6;
  private static final int PTR = 12;
  private static final int MX = 15;
  private static final int TXT = 16;
  private static final int AAAA = 28;
  private static final int OPT = 41;
  private static final int TLSA = 52;
  private static final Map<String, Integer> TYPES = Map.of("A", A, "CNAME", CNAME, "SOA", SOA, "PTR", PTR, "MX", MX,
      "TXT", TXT, "AAAA", AAAA, "TLSA", TLSA);
  /** DNSSEC OK, in an OPT record's flags (RFC 3225). */
  private static final int DO = 0x8000;

  private static final int NOERROR = 0;
  private static final int FORMERR = 1;
  private static final int SERVFAIL = 2;
  private static final int NXDOMAIN = 3;
  private static final int REFUSED = 5;

  private sealed interface Rdata {}

  private record Address(byte[] bytes) implements Rdata {}

  private record Exchange(int preference, String host) implements Rdata {}

  private record Strings(List<byte[]> strings) implements Rdata {}

  private record Alias(String target) implements Rdata {}

  private record Pointer(String host) implements Rdata {}

  private record Association(int usage, int selector, int matchingType, byte[] data) implements Rdata {}

  private record Rr(String name, int type, long ttl, Rdata data) {}

  private final Map<String, List<Rr>> records = new ConcurrentHashMap<>();
  private final Map<String, Failure> failures = new ConcurrentHashMap<>();
  /** Zones (and the names under them) whose answers validate: AD to a query that asks for DNSSEC. */
  private final Set<String> signed = ConcurrentHashMap.newKeySet();
  private final List<Query> log = new CopyOnWriteArrayList<>();
  /** The source port of each UDP query, in order. */
  private final List<Integer> udpPorts = new CopyOnWriteArrayList<>();
  private volatile long defaultTtl = 300;
  private volatile long soaTtl = 3600;
  private volatile long soaMinimum = 300;
  private volatile boolean truncateUdp;
  private volatile Duration delay = Duration.ZERO;

  private final ServerSocket tcp;
  private final DatagramSocket udp;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fake-dns");
    t.setDaemon(true);
    return t;
  });
  private final ScheduledExecutorService replies = Executors.newScheduledThreadPool(2, r -> {
    Thread t = new Thread(r, "fake-dns-reply");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean closed;

  private FakeDnsServer(ServerSocket tcp, DatagramSocket udp) {
    this.tcp = tcp;
    this.udp = udp;
    threads.submit(this::udpLoop);
    threads.submit(this::acceptLoop);
  }

  /** Starts a server on 127.0.0.1, UDP and TCP on one free port. */
  public static FakeDnsServer start() throws IOException {
    return start(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
  }

  /** Starts a server on {@code address} (one of this machine's), UDP and TCP on one free port. */
  public static FakeDnsServer start(InetAddress address) throws IOException {
    for (int tries = 0; ; tries++) {
      ServerSocket tcp = new ServerSocket(0, 50, address);
      try {
        return new FakeDnsServer(tcp, new DatagramSocket(new InetSocketAddress(address, tcp.getLocalPort())));
      } catch (BindException taken) {
        tcp.close();
        if (tries == 20) {
          throw taken;
        }
      }
    }
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(tcp.getInetAddress(), tcp.getLocalPort());
  }

  public int port() {
    return tcp.getLocalPort();
  }

  /** {@code 127.0.0.1:port}, as resolver options take it. */
  public String hostPort() {
    return tcp.getInetAddress().getHostAddress() + ":" + port();
  }

  // ---- zone data ----

  /** TTL of records added without one (300 s unless set). */
  public FakeDnsServer defaultTtl(long seconds) {
    defaultTtl = seconds;
    return this;
  }

  /** The SOA sent with negative answers: its own TTL and its MINIMUM field (RFC 2308: the smaller is the negative TTL). */
  public FakeDnsServer soa(long ttl, long minimum) {
    soaTtl = ttl;
    soaMinimum = minimum;
    return this;
  }

  public FakeDnsServer a(String name, String... addresses) {
    for (String address : addresses) {
      record(name, "A", defaultTtl, address);
    }
    return this;
  }

  public FakeDnsServer aaaa(String name, String... addresses) {
    for (String address : addresses) {
      record(name, "AAAA", defaultTtl, address);
    }
    return this;
  }

  public FakeDnsServer mx(String domain, int preference, String exchange) {
    return record(domain, "MX", defaultTtl, preference + " " + exchange);
  }

  /** RFC 7505: a single MX of preference 0 whose exchange is the root. */
  public FakeDnsServer nullMx(String domain) {
    return record(domain, "MX", defaultTtl, "0 .");
  }

  /** One TXT record; a value longer than 255 bytes goes out as several strings, as in a zone file. */
  public FakeDnsServer txt(String name, String value) {
    return record(name, "TXT", defaultTtl, value);
  }

  public FakeDnsServer cname(String name, String target) {
    return record(name, "CNAME", defaultTtl, target);
  }

  /** A PTR record for an address literal: {@code ptr("192.0.2.1", "mail.example.com")} at its reverse name. */
  public FakeDnsServer ptr(String address, String host) {
    return record(reverseName(address), "PTR", defaultTtl, host);
  }

  /**
   * Where an address's PTR records live: {@code 1.2.0.192.in-addr.arpa} for 192.0.2.1, the reversed nibbles under
   * {@code ip6.arpa} for an IPv6 address (for a CNAME there, as in RFC 2317's classless delegation).
   */
  public static String reverseName(String address) {
    byte[] bytes = literal(address, address.contains(":") ? "AAAA" : "A");
    StringBuilder name = new StringBuilder();
    for (int i = bytes.length - 1; i >= 0; i--) {
      int b = bytes[i] & 0xff;
      name.append(bytes.length == 4 ? Integer.toString(b)
          : Integer.toHexString(b & 0xf) + "." + Integer.toHexString(b >> 4)).append('.');
    }
    return name + (bytes.length == 4 ? "in-addr.arpa" : "ip6.arpa");
  }

  /**
   * Adds a record, in zone-file words: {@code record("example.com", "MX", 60, "10 mx.example.com")};
   * A and AAAA take an address literal, TXT the whole value, CNAME and PTR the target.
   */
  public FakeDnsServer record(String name, String type, long ttl, String value) {
    String owner = canonical(name);
    Rdata data = switch (type.toUpperCase(Locale.ROOT)) {
      case "A", "AAAA" -> new Address(literal(value, type));
      case "MX" -> {
        String[] parts = value.trim().split("\\s+");
        yield new Exchange(Integer.parseInt(parts[0]), canonical(parts[1]));
      }
      case "TXT" -> new Strings(split(value.getBytes(StandardCharsets.UTF_8)));
      case "CNAME" -> new Alias(canonical(value));
      case "PTR" -> new Pointer(canonical(value));
      case "TLSA" -> {
        String[] parts = value.trim().split("\\s+");
        yield new Association(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]),
            java.util.HexFormat.of().parseHex(parts.length > 3 ? parts[3] : ""));
      }
      default -> throw new IllegalArgumentException("unsupported type " + type);
    };
    Rr rr = new Rr(owner, TYPES.get(type.toUpperCase(Locale.ROOT)), ttl, data);
    records.compute(owner, (k, list) -> {
      List<Rr> updated = list == null ? new ArrayList<>() : new ArrayList<>(list);
      updated.add(rr);
      return List.copyOf(updated);
    });
    return this;
  }

  /** A TLSA record, as in a zone file: {@code tlsa("_25._tcp.mx.example.com", "3 1 1 0123...")}. */
  public FakeDnsServer tlsa(String name, String value) {
    return record(name, "TLSA", defaultTtl, value);
  }

  /**
   * {@code zone} and every name under it are DNSSEC-signed, and this server validates them as a validating resolver
   * does: an answer about them (found, no data, no such name; every CNAME on the way too) has the AD bit, when the
   * query asked for DNSSEC (the DO bit). Others, failures and queries without DO never do.
   */
  public FakeDnsServer signed(String zone) {
    signed.add(canonical(zone));
    return this;
  }

  private boolean isSigned(String name) {
    for (String zone : signed) {
      if (name.equals(zone) || name.endsWith("." + zone)) {
        return true;
      }
    }
    return false;
  }

  /** Removes every record of the name: it no longer exists (NXDOMAIN unless names below it exist). */
  public FakeDnsServer remove(String name) {
    records.remove(canonical(name));
    return this;
  }

  /** Removes the name's records of one type. */
  public FakeDnsServer remove(String name, String type) {
    int code = TYPES.get(type.toUpperCase(Locale.ROOT));
    records.computeIfPresent(canonical(name), (k, list) -> {
      List<Rr> kept = list.stream().filter(rr -> rr.type() != code).toList();
      return kept.isEmpty() ? null : kept;
    });
    return this;
  }

  // ---- failures ----

  /** Every query for the name fails this way. */
  public FakeDnsServer fail(String name, Failure failure) {
    failures.put(canonical(name), failure);
    return this;
  }

  /** Queries for the name and this type fail this way; other types are answered. */
  public FakeDnsServer fail(String name, String type, Failure failure) {
    failures.put(canonical(name) + "/" + type.toUpperCase(Locale.ROOT), failure);
    return this;
  }

  /** Answers the name normally again. */
  public FakeDnsServer heal(String name) {
    String key = canonical(name);
    failures.keySet().removeIf(k -> k.equals(key) || k.startsWith(key + "/"));
    return this;
  }

  /** Every UDP answer is sent truncated (TC set, no records), whatever its size. */
  public FakeDnsServer truncateUdp(boolean on) {
    truncateUdp = on;
    return this;
  }

  /** Waits this long before each answer (UDP and TCP), so lookups overlap. */
  public FakeDnsServer delay(Duration delay) {
    this.delay = delay;
    return this;
  }

  // ---- the query log ----

  public List<Query> queries() {
    return List.copyOf(log);
  }

  /** The source port of each UDP query received, in order (RFC 5452 9.2: a resolver should vary it). */
  public List<Integer> udpSourcePorts() {
    return List.copyOf(udpPorts);
  }

  /** How many queries for the name and type arrived, over UDP and TCP. */
  public int count(String name, String type) {
    String n = canonical(name);
    String t = type.toUpperCase(Locale.ROOT);
    return (int) log.stream().filter(q -> q.name().equals(n) && q.type().equals(t)).count();
  }

  public void clearQueries() {
    log.clear();
  }

  @Override
  public void close() {
    closed = true;
    udp.close();
    try {
      tcp.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    threads.shutdownNow();
    replies.shutdownNow();
  }

  // ---- sockets ----

  private void udpLoop() {
    byte[] buffer = new byte[65535];
    while (!closed) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        udp.receive(packet);
      } catch (IOException e) {
        return; // closed
      }
      byte[] query = Arrays.copyOfRange(packet.getData(), packet.getOffset(), packet.getLength());
      InetSocketAddress client = (InetSocketAddress) packet.getSocketAddress();
      udpPorts.add(client.getPort());
      later(() -> {
        byte[] answer = answerOrIgnore(query, false);
        if (answer != null) {
          try {
            udp.send(new DatagramPacket(answer, answer.length, client));
          } catch (IOException ignored) {
            // closed
          }
        }
      });
    }
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket socket = tcp.accept();
        threads.submit(() -> serveTcp(socket));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serveTcp(Socket socket) {
    try (socket) {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      while (!closed) {
        byte[] query = new byte[in.readUnsignedShort()];
        in.readFully(query);
        sleep(delay);
        byte[] answer = answerOrIgnore(query, true);
        if (answer != null) {
          synchronized (out) {
            out.write(new byte[] {(byte) (answer.length >> 8), (byte) answer.length});
            out.write(answer);
            out.flush();
          }
        }
      }
    } catch (EOFException | SocketException done) {
      // client closed the connection, or we are closing
    } catch (IOException e) {
      // a broken client: drop the connection
    }
  }

  private void later(Runnable reply) {
    if (delay.isZero()) {
      reply.run();
    } else {
      replies.schedule(reply, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private static void sleep(Duration d) {
    if (!d.isZero()) {
      try {
        Thread.sleep(d.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---- the protocol ----

  private byte[] answerOrIgnore(byte[] query, boolean overTcp) {
    try {
      return answer(query, overTcp);
    } catch (RuntimeException malformed) {
      return null; // as a real server does with garbage
    }
  }

  /** The response to a query message, or null to send nothing. */
  private byte[] answer(byte[] query, boolean overTcp) {
    if (query.length < 12) {
      return null;
    }
    Reader in = new Reader(query);
    int id = in.u16();
    int flags = in.u16();
    int questions = in.u16();
    in.u16(); // answers
    in.u16(); // authority
    int additional = in.u16();
    boolean recursionDesired = (flags & 0x0100) != 0;
    if ((flags & 0x8000) != 0) {
      return null; // a response, not a query
    }
    if (questions != 1) {
      return header(id, recursionDesired, FORMERR, false, 0, 0, 0, 0).toByteArray();
    }
    String qname = in.name();
    int qtype = in.u16();
    int qclass = in.u16();
    int udpLimit = 512;
    boolean edns = false;
    boolean dnssecOk = false;
    for (int i = 0; i < additional && in.remaining() > 0; i++) {
      in.name();
      int type = in.u16();
      int rrClass = in.u16();
      long ttl = in.u32();
      in.skip(in.u16());
      if (type == OPT) {
        edns = true;
        udpLimit = Math.max(512, rrClass);
        dnssecOk = (ttl & DO) != 0;
      }
    }
    String name = canonical(qname);
    String typeName = TYPES.entrySet().stream().filter(e -> e.getValue() == qtype).map(Map.Entry::getKey)
        .findFirst().orElse(String.valueOf(qtype));
    log.add(new Query(name, typeName, overTcp));

    Failure failure = failures.getOrDefault(name + "/" + typeName, failures.get(name));
    if (failure == Failure.DROP) {
      return null;
    }
    int rcode = NOERROR;
    List<Rr> answers = new ArrayList<>();
    String zoneOf = name;
    boolean negative = false;
    if (failure == Failure.REFERRAL) {
      Writer out = header(id, recursionDesired, NOERROR, false, 1, 0, 1, 0, false);
      out.name(qname);
      out.u16(qtype);
      out.u16(qclass);
      out.ns(zone(name), "ns1." + zone(name));
      return out.toByteArray();
    }
    if (failure != null) {
      rcode = failure == Failure.SERVFAIL ? SERVFAIL : REFUSED;
    } else {
      String current = name;
      for (int hop = 0; hop < 8; hop++) {
        List<Rr> held = records.getOrDefault(current, List.of());
        List<Rr> matching = held.stream().filter(rr -> rr.type() == qtype).toList();
        if (!matching.isEmpty()) {
          answers.addAll(matching);
          break;
        }
        Rr alias = held.stream().filter(rr -> rr.type() == CNAME).findFirst().orElse(null);
        if (alias == null) {
          negative = true;
          if (held.isEmpty() && !hasNamesBelow(current)) {
            rcode = NXDOMAIN;
          }
          break;
        }
        answers.add(alias);
        String target = ((Alias) alias.data()).target();
        if (!zone(target).equals(zone(current))) {
          break; // authoritative for this zone only: the client asks for the target itself
        }
        current = target;
      }
      zoneOf = current;
    }

    // authentic: asked with DO, answered (not failed), and every name on the way signed
    boolean authentic = dnssecOk && failure == null && isSigned(name) && isSigned(zoneOf)
        && answers.stream().allMatch(rr -> isSigned(rr.name()));
    Writer out = header(id, recursionDesired, rcode, false, 1, answers.size(), negative ? 1 : 0, edns ? 1 : 0, true,
        authentic);
    out.name(qname);
    out.u16(qtype);
    out.u16(qclass);
    for (Rr rr : answers) {
      out.rr(rr);
    }
    if (negative) {
      out.soa(zone(zoneOf), soaTtl, soaMinimum);
    }
    if (edns) {
      out.opt();
    }
    byte[] message = out.toByteArray();
    if (!overTcp && (truncateUdp || message.length > udpLimit)) {
      Writer truncated = header(id, recursionDesired, rcode, true, 1, 0, 0, 0);
      truncated.name(qname);
      truncated.u16(qtype);
      truncated.u16(qclass);
      return truncated.toByteArray();
    }
    return message;
  }

  private static Writer header(int id, boolean rd, int rcode, boolean truncated, int qd, int an, int ns, int ar) {
    return header(id, rd, rcode, truncated, qd, an, ns, ar, true);
  }

  /** {@code authoritative}: AA and RA set, as this server answers; clear for a referral. */
  private static Writer header(int id, boolean rd, int rcode, boolean truncated, int qd, int an, int ns, int ar,
      boolean authoritative) {
    return header(id, rd, rcode, truncated, qd, an, ns, ar, authoritative, false);
  }

  /** {@code authentic}: the AD bit, as a validating resolver sets it (RFC 4035 3.2.3). */
  private static Writer header(int id, boolean rd, int rcode, boolean truncated, int qd, int an, int ns, int ar,
      boolean authoritative, boolean authentic) {
    Writer out = new Writer();
    out.u16(id);
    // QR, opcode QUERY, AA, TC, RD as asked, RA, AD, rcode
    out.u16(0x8000 | (authoritative ? 0x0400 : 0) | (truncated ? 0x0200 : 0) | (rd ? 0x0100 : 0)
        | (authoritative ? 0x0080 : 0) | (authentic ? 0x0020 : 0) | rcode);
    out.u16(qd);
    out.u16(an);
    out.u16(ns);
    out.u16(ar);
    return out;
  }

  private boolean hasNamesBelow(String name) {
    String suffix = "." + name;
    return records.keySet().stream().anyMatch(k -> k.endsWith(suffix));
  }

  private static String zone(String name) {
    String[] labels = name.split("\\.");
    return labels.length <= 2 ? name : labels[labels.length - 2] + "." + labels[labels.length - 1];
  }

  private static String canonical(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    return n.endsWith(".") && n.length() > 1 ? n.substring(0, n.length() - 1) : n;
  }

  private static byte[] literal(String value, String type) {
    try {
      InetAddress address = InetAddress.getByName(value); // a literal: no lookup
      boolean v4 = address instanceof Inet4Address;
      if (v4 != type.equalsIgnoreCase("A") || (!v4 && !(address instanceof Inet6Address))) {
        throw new IllegalArgumentException(value + " is not an " + type + " address");
      }
      return address.getAddress();
    } catch (IOException e) {
      throw new IllegalArgumentException(value + " is not an address literal", e);
    }
  }

  private static List<byte[]> split(byte[] value) {
    List<byte[]> strings = new ArrayList<>();
    for (int at = 0; at < value.length || strings.isEmpty(); at += 255) {
      strings.add(Arrays.copyOfRange(value, at, Math.min(value.length, at + 255)));
    }
    return strings;
  }

  /** Reads a query; names may use compression pointers. */
  private static final class Reader {
    private final byte[] bytes;
    private int at;

    Reader(byte[] bytes) {
      this.bytes = bytes;
    }

    int remaining() {
      return bytes.length - at;
    }

    int u8() {
      return bytes[at++] & 0xff;
    }

    int u16() {
      return (u8() << 8) | u8();
    }

    long u32() {
      return ((long) u16() << 16) | u16();
    }

    void skip(int n) {
      at += n;
    }

    /** The name as sent (case kept, so the question is echoed exactly), without the trailing dot. */
    String name() {
      StringBuilder name = new StringBuilder();
      int position = at;
      int resumeAt = -1;
      for (int jumps = 0; ; ) {
        int length = bytes[position] & 0xff;
        if ((length & 0xc0) == 0xc0) {
          if (resumeAt < 0) {
            resumeAt = position + 2;
          }
          if (++jumps > 20) {
            throw new IllegalArgumentException("compression loop");
          }
          position = ((length & 0x3f) << 8) | (bytes[position + 1] & 0xff);
          continue;
        }
        position++;
        if (length == 0) {
          break;
        }
        if (name.length() > 0) {
          name.append('.');
        }
        name.append(new String(bytes, position, length, StandardCharsets.US_ASCII));
        position += length;
      }
      at = resumeAt >= 0 ? resumeAt : position;
      return name.length() == 0 ? "." : name.toString();
    }
  }

  /** Writes a response, compressing names as real servers do (RFC 1035 section 4.1.4). */
  private static final class Writer {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Integer> offsets = new HashMap<>();

    void u8(int v) {
      out.write(v);
    }

    void u16(int v) {
      out.write(v >> 8);
      out.write(v);
    }

    void u32(long v) {
      u16((int) (v >> 16) & 0xffff);
      u16((int) v & 0xffff);
    }

    void name(String name) {
      if (name.equals(".") || name.isEmpty()) {
        u8(0);
        return;
      }
      String[] labels = name.split("\\.");
      for (int i = 0; i < labels.length; i++) {
        String suffix = String.join(".", Arrays.copyOfRange(labels, i, labels.length)).toLowerCase(Locale.ROOT);
        Integer pointer = offsets.get(suffix);
        if (pointer != null) {
          u16(0xc000 | pointer);
          return;
        }
        if (out.size() < 0x3fff) {
          offsets.put(suffix, out.size());
        }
        byte[] label = labels[i].getBytes(StandardCharsets.US_ASCII);
        u8(label.length);
        out.write(label, 0, label.length);
      }
      u8(0);
    }

    /** A record; RDATA is written after a placeholder length, patched once known (it may hold compressed names). */
    void rr(Rr rr) {
      name(rr.name());
      u16(rr.type());
      u16(1); // IN
      u32(rr.ttl());
      int lengthAt = out.size();
      u16(0);
      int start = out.size();
      Rdata data = rr.data();
      if (data instanceof Address address) {
        out.write(address.bytes(), 0, address.bytes().length);
      } else if (data instanceof Exchange exchange) {
        u16(exchange.preference());
        name(exchange.host());
      } else if (data instanceof Strings strings) {
        for (byte[] s : strings.strings()) {
          u8(s.length);
          out.write(s, 0, s.length);
        }
      } else if (data instanceof Alias alias) {
        name(alias.target());
      } else if (data instanceof Pointer pointer) {
        name(pointer.host());
      } else if (data instanceof Association tlsa) {
        u8(tlsa.usage());
        u8(tlsa.selector());
        u8(tlsa.matchingType());
        out.write(tlsa.data(), 0, tlsa.data().length);
      }
      patchLength(lengthAt, out.size() - start);
    }

    void soa(String zone, long ttl, long minimum) {
      name(zone);
      u16(SOA);
      u16(1);
      u32(ttl);
      int lengthAt = out.size();
      u16(0);
      int start = out.size();
      name("ns1." + zone);
      name("hostmaster." + zone);
      u32(2024010101L); // serial
      u32(3600); // refresh
      u32(600); // retry
      u32(86400); // expire
      u32(minimum);
      patchLength(lengthAt, out.size() - start);
    }

    /** An NS record of {@code zone}: a referral's authority section. */
    void ns(String zone, String host) {
      name(zone);
      u16(NS);
      u16(1);
      u32(3600);
      int lengthAt = out.size();
      u16(0);
      int start = out.size();
      name(host);
      patchLength(lengthAt, out.size() - start);
    }

    /** EDNS(0) OPT pseudo-record: our own UDP buffer size. */
    void opt() {
      u8(0);
      u16(OPT);
      u16(1232);
      u32(0);
      u16(0);
    }

    private void patchLength(int at, int length) {
      byte[] bytes = out.toByteArray();
      bytes[at] = (byte) (length >> 8);
      bytes[at + 1] = (byte) length;
      out.reset();
      out.write(bytes, 0, bytes.length);
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }
}
