package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class NetAddressesTest {
  /** An IPv6 address as a lookup answers it: an Inet6Address even when it holds an IPv4 address. */
  private static InetAddress v6(String address) throws Exception {
    byte[] b = io.netty.util.NetUtil.createByteArrayFromIpAddressString(address);
    if (b.length == 4) { // ::ffff:a.b.c.d, which the parser gives as IPv4
      byte[] mapped = new byte[16];
      mapped[10] = (byte) 0xff;
      mapped[11] = (byte) 0xff;
      System.arraycopy(b, 0, mapped, 12, 4);
      b = mapped;
    }
    return Inet6Address.getByAddress(null, b, -1);
  }

  /**
   * An AAAA answer of ::ffff:127.0.0.1 is an Inet6Address (the JDK does not turn it into IPv4 as getByAddress does),
   * and a connection to it reaches the node's own loopback: the IPv4 address inside decides.
   */
  @Test
  void anIpv4AddressInsideAnIpv6OneIsAsPublicAsItself() throws Exception {
    assertTrue(v6("::ffff:127.0.0.1") instanceof Inet6Address, "as a lookup answers it");
    assertFalse(NetAddresses.isPublic(v6("::ffff:127.0.0.1")), "mapped loopback");
    assertFalse(NetAddresses.isPublic(v6("::ffff:169.254.169.254")), "mapped metadata service");
    assertFalse(NetAddresses.isPublic(v6("::ffff:10.0.0.5")), "mapped private");
    assertFalse(NetAddresses.isPublic(v6("::ffff:100.64.0.1")), "mapped CGNAT");
    assertTrue(NetAddresses.isPublic(v6("::ffff:192.0.2.10")), "mapped public");
    assertFalse(NetAddresses.isPublic(v6("::ffff:0:7f00:1")), "translated loopback");
    assertFalse(NetAddresses.isPublic(v6("::ffff:0:a00:5")), "translated private");
    assertTrue(NetAddresses.isPublic(v6("::ffff:0:c000:20a")), "translated public");
    assertFalse(NetAddresses.isPublic(v6("2002:7f00:1::1")), "6to4 of 127.0.0.1");
    assertFalse(NetAddresses.isPublic(v6("2002:a9fe:a9fe::1")), "6to4 of 169.254.169.254");
    assertFalse(NetAddresses.isPublic(v6("2002:a00:5::1")), "6to4 of 10.0.0.5");
    assertTrue(NetAddresses.isPublic(v6("2002:c000:20a::1")), "6to4 of 192.0.2.10");
    // Teredo: server 65.54.227.120, client 127.0.0.1 / 192.0.2.45 (inverted); server 10.0.0.1
    assertFalse(NetAddresses.isPublic(v6("2001:0:4136:e378:8000:63bf:80ff:fffe")), "Teredo to 127.0.0.1");
    assertFalse(NetAddresses.isPublic(v6("2001:0:4136:e378:8000:63bf:5601:5601")), "Teredo to 169.254.169.254");
    assertTrue(NetAddresses.isPublic(v6("2001:0:4136:e378:8000:63bf:3fff:fdd2")), "Teredo to 192.0.2.45");
    assertFalse(NetAddresses.isPublic(v6("2001:0:a00:1:8000:63bf:3fff:fdd2")), "Teredo through 10.0.0.1");
    assertFalse(NetAddresses.isPublic(v6("::7f00:1")), "IPv4-compatible loopback");
    assertFalse(NetAddresses.isPublic(v6("::a00:5")), "IPv4-compatible private");
    assertTrue(NetAddresses.isPublic(v6("2001:db8::1")));
    assertTrue(NetAddresses.isPublic(InetAddress.getByName("192.0.2.10")));
    assertFalse(NetAddresses.isPublic(InetAddress.getByName("127.0.0.1")));
  }

  /** A cloud's metadata service, where a tenant's MX or webhook would read the node's credentials. */
  @Test
  void noCloudMetadataServiceIsPublic() throws Exception {
    assertFalse(NetAddresses.isPublic(InetAddress.getByName("169.254.169.254")), "AWS, GCP, Azure IMDS");
    assertFalse(NetAddresses.isPublic(v6("fd00:ec2::254")), "AWS IMDS over IPv6");
    assertFalse(NetAddresses.isPublic(InetAddress.getByName("100.100.100.200")), "Alibaba");
    assertFalse(NetAddresses.isPublic(InetAddress.getByName("192.0.0.192")), "Oracle");
    assertFalse(NetAddresses.isPublic(InetAddress.getByName("168.63.129.16")), "Azure WireServer");
    assertFalse(NetAddresses.isPublic(v6("::ffff:168.63.129.16")), "Azure WireServer, mapped");
    assertTrue(NetAddresses.isPublic(InetAddress.getByName("168.63.129.17")), "its neighbour");
    assertTrue(NetAddresses.isPublic(InetAddress.getByName("168.63.128.16")), "its neighbour");
  }
}
