package io.mailgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MailgateConfigTest {

  @Test
  void fileThenEnvironment(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("mailgate.json");
    Files.writeString(file, "{\"http\": {\"port\": 9000}, \"relay\": {\"url\": \"smtp://relay:25\"}}");
    MailgateConfig c = MailgateConfig.load(file, Map.of("MAILGATE_HTTP_PORT", "9100", "MAILGATE_DEV_MAX_24_HOUR_SEND", "7"));
    assertEquals(9100, c.get(MailgateConfig.HTTP_PORT));
    assertEquals("smtp://relay:25", c.get(MailgateConfig.RELAY_URL));
    assertEquals(7L, c.get(MailgateConfig.DEV_MAX_24_HOUR_SEND));
    assertEquals(50, c.get(MailgateConfig.SEND_MAX_RECIPIENTS));
  }

  @Test
  void mistakesFailAtStart(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("mailgate.json");
    Files.writeString(file, "{\"http\": {\"prot\": 9000}}");
    ConfigException unknown = assertThrows(ConfigException.class, () -> MailgateConfig.load(file, Map.of()));
    assertTrue(unknown.getMessage().contains("http.prot"));
    ConfigException type = assertThrows(ConfigException.class,
        () -> MailgateConfig.load(null, Map.of("MAILGATE_HTTP_PORT", "eighty")));
    assertTrue(type.getMessage().contains("MAILGATE_HTTP_PORT"));
    Files.writeString(file, "{ not json");
    assertThrows(ConfigException.class, () -> MailgateConfig.load(file, Map.of()));
    // a JSON list for a list setting: its text would be read as items ('["a.example"' and '"b.example"]')
    Files.writeString(file, "{\"feedback\": {\"bounceDomains\": [\"a.example\", \"b.example\"]}}");
    ConfigException list = assertThrows(ConfigException.class, () -> MailgateConfig.load(file, Map.of()));
    assertTrue(list.getMessage().contains("feedback.bounceDomains") && list.getMessage().contains("commas"),
        list.getMessage());
    Files.writeString(file, "{\"feedback\": {\"bounceDomains\": \"a.example,b.example\"}}");
    assertEquals("a.example,b.example", MailgateConfig.load(file, Map.of()).get(MailgateConfig.FEEDBACK_BOUNCE_DOMAINS));
  }

  /** Values the type allows that would break the node once it runs fail its start instead, naming the key. */
  @Test
  void valuesThatWouldBreakTheRunningNodeFailAtStart() {
    for (Map<String, String> env : List.of(
        Map.of("MAILGATE_REPUTATION_COMPLAINT_SHUTDOWN", "0"), // 0 >= 0: every account paused
        Map.of("MAILGATE_REPUTATION_BOUNCE_WARNING", "1.5"),
        Map.of("MAILGATE_REPUTATION_BOUNCE_WARNING", "0.2", "MAILGATE_REPUTATION_BOUNCE_SHUTDOWN", "0.1"),
        Map.of("MAILGATE_HTTP_PORT", "70000"),
        Map.of("MAILGATE_DELIVERY_DIRECT_PORT", "65536"),
        Map.of("MAILGATE_HTTP_PORT", "2587"), // the submission port's default
        Map.of("MAILGATE_SMTP_INBOUND_PORT", "9000", "MAILGATE_SMTP_SUBMISSION_PORT", "9000"),
        Map.of("MAILGATE_SMTP_SUBMISSION_TLS_CERT", "/c.pem", "MAILGATE_SMTP_SUBMISSION_TLS_PORT", "8080"),
        Map.of("MAILGATE_DELIVERY_COMMAND_TIMEOUT_SECONDS", "0"),
        Map.of("MAILGATE_DELIVERY_DATA_TIMEOUT_SECONDS", "0"),
        Map.of("MAILGATE_DELIVERY_CONNECT_TIMEOUT_SECONDS", "0"),
        Map.of("MAILGATE_DELIVERY_RETRY_BASE_SECONDS", "0"),
        Map.of("MAILGATE_PG_PIPELINING_LIMIT", "0"),
        Map.of("MAILGATE_PG_BATCHES_IN_FLIGHT", "0"),
        Map.of("MAILGATE_VDM_RETENTION_DAYS", "13"), // below vdm.recomputeDays' 14: a day deleted, computed again
        Map.of("MAILGATE_VDM_RETENTION_DAYS", "20", "MAILGATE_VDM_RECOMPUTE_DAYS", "21"))) {
      ConfigException e = assertThrows(ConfigException.class, () -> MailgateConfig.load(null, env), env.toString());
      String named = env.keySet().stream().filter(k -> !k.endsWith("_CERT")).findFirst().orElseThrow();
      String path = MailgateConfig.keys().stream().filter(k -> k.envName().equals(named)).findFirst().orElseThrow()
          .path();
      assertTrue(e.getMessage().contains(path) || e.getMessage().contains(named), env + ": " + e.getMessage());
    }
    // what may look alike but works: the same port on two addresses, a TLS port without a certificate (not opened),
    // rates at their bounds, 0 for a listener that is not opened
    MailgateConfig.load(null, Map.of("MAILGATE_HTTP_HOST", "127.0.0.1", "MAILGATE_SMTP_SUBMISSION_HOST", "127.0.0.2",
        "MAILGATE_SMTP_SUBMISSION_PORT", "8080"));
    MailgateConfig.load(null, Map.of("MAILGATE_SMTP_SUBMISSION_TLS_PORT", "8080"));
    MailgateConfig.load(null, Map.of("MAILGATE_REPUTATION_BOUNCE_WARNING", "1", "MAILGATE_REPUTATION_BOUNCE_SHUTDOWN",
        "1"));
    MailgateConfig.load(null, Map.of("MAILGATE_SMTP_INBOUND_PORT", "0", "MAILGATE_SMTP_SUBMISSION_PORT", "0"));
    MailgateConfig.load(null, Map.of("MAILGATE_VDM_RETENTION_DAYS", "0")); // kept for ever
    MailgateConfig.load(null, Map.of("MAILGATE_VDM_RETENTION_DAYS", "14"));
    // under the advisor's 14 days, whatever vdm.recomputeDays says: the rates would be judged by fewer days
    ConfigException advice = assertThrows(ConfigException.class, () -> MailgateConfig.load(null,
        Map.of("MAILGATE_VDM_RETENTION_DAYS", "10", "MAILGATE_VDM_RECOMPUTE_DAYS", "7")));
    assertTrue(advice.getMessage().contains("vdm.retentionDays") && advice.getMessage().contains("below 14"),
        advice.getMessage());
    MailgateConfig.load(null, Map.of("MAILGATE_VDM_RETENTION_DAYS", "14", "MAILGATE_VDM_RECOMPUTE_DAYS", "7"));
  }

  @Test
  void aConfigurationFileNamedOnPurposeMustExist(@TempDir Path dir) {
    Path missing = dir.resolve("mailgte.json");
    ConfigException e = assertThrows(ConfigException.class,
        () -> MailgateConfig.load(missing, Map.of("MAILGATE_CONFIG", missing.toString())));
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    // the default path may be absent: a node on its defaults and environment
    assertEquals(8080, MailgateConfig.load(missing, Map.of()).get(MailgateConfig.HTTP_PORT));
  }

  @Test
  void numbersAreWholeInRangeFiniteAndNotNegative(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("mailgate.json");
    for (String bad : new String[] {"{\"delivery\": {\"maxConnections\": 3000000000}}",
        "{\"delivery\": {\"maxConnections\": 1.5}}", "{\"retention\": {\"days\": -1}}",
        "{\"delivery\": {\"leaseSeconds\": 0}}", "{\"delivery\": {\"scanIntervalSeconds\": 0}}",
        "{\"reputation\": {\"checkIntervalSeconds\": 0}}", "{\"reputation\": {\"minVolume\": 0}}"}) {
      Files.writeString(file, bad);
      assertThrows(ConfigException.class, () -> MailgateConfig.load(file, Map.of()), bad);
    }
    assertThrows(ConfigException.class,
        () -> MailgateConfig.load(null, Map.of("MAILGATE_REPUTATION_BOUNCE_SHUTDOWN", "NaN")));
    assertThrows(ConfigException.class, () -> MailgateConfig.load(null, Map.of("MAILGATE_DEV_MAX_SEND_RATE", "-5")));
    // a check every 0 s: the node would fail at start with Vert.x's message about a timer, not this one
    ConfigException interval = assertThrows(ConfigException.class,
        () -> MailgateConfig.load(null, Map.of("MAILGATE_REPUTATION_CHECK_INTERVAL_SECONDS", "0")));
    assertEquals("invalid value for reputation.checkIntervalSeconds (MAILGATE_REPUTATION_CHECK_INTERVAL_SECONDS): 0 "
        + "is below its least, 1", interval.getMessage());
    // a recipient's place in its message is a smallint: more would fail every message committed with one
    ConfigException recipients = assertThrows(ConfigException.class,
        () -> MailgateConfig.load(null, Map.of("MAILGATE_SEND_MAX_RECIPIENTS", "40000")));
    assertEquals("invalid value for send.maxRecipients (MAILGATE_SEND_MAX_RECIPIENTS): 40000 is above its most, 32767",
        recipients.getMessage());
    assertEquals(32767, MailgateConfig.load(null, Map.of("MAILGATE_SEND_MAX_RECIPIENTS", "32767"))
        .get(MailgateConfig.SEND_MAX_RECIPIENTS));
    Files.writeString(file, "{\"delivery\": {\"maxConnections\": 4.0, \"leaseSeconds\": 30}}");
    assertEquals(4, MailgateConfig.load(file, Map.of()).get(MailgateConfig.DELIVERY_MAX_CONNECTIONS));
  }

  /**
   * delivery.heloName goes into every EHLO: what RFC 5321 4.1.2 does not allow there (a name beyond ASCII, an
   * underscore, an empty or hyphen-edged label, a literal that is no IPv4 or IPv6 address) fails the start, naming the
   * key, rather than every delivery; a domain or an address literal is taken as it is.
   */
  @Test
  void heloNameIsADomainOrAnAddressLiteral(@TempDir Path dir) throws IOException {
    ConfigException idn = assertThrows(ConfigException.class,
        () -> MailgateConfig.load(null, Map.of("MAILGATE_DELIVERY_HELO_NAME", "mäil.example")));
    assertEquals("invalid value for delivery.heloName (MAILGATE_DELIVERY_HELO_NAME): 'mäil.example' is no domain name "
        + "or address literal (RFC 5321 4.1.2): it has a character beyond ASCII (U+00E4): write an internationalized "
        + "name in its A-label form, here xn--mil-qla.example", idn.getMessage());
    for (String bad : new String[] {"mail_server.example", "-mx.example", "mx-.example", "mx..example", ".mx.example",
        "mx.example.", "mx example", " mx.example", "mx.example\r\nMAIL FROM:<a@b>", "a".repeat(64) + ".example",
        "a.".repeat(128) + "a", "[300.1.1.1]", "[192.0.2]", "[192.0.2.1", "[]", "[IPv6:2001:db8::1%eth0]",
        "[IPv6:zz::1]", "[IPv6:192.0.2.1]", "[tag:abc]", "[mx.example]", "Ω.example", "192.0.2.1", "mx.123"}) {
      ConfigException e = assertThrows(ConfigException.class,
          () -> MailgateConfig.load(null, Map.of("MAILGATE_DELIVERY_HELO_NAME", bad)), bad);
      assertTrue(e.getMessage().startsWith("invalid value for delivery.heloName (MAILGATE_DELIVERY_HELO_NAME): '"),
          e.getMessage());
    }
    assertTrue(assertThrows(ConfigException.class, () -> MailgateConfig.load(null,
        Map.of("MAILGATE_DELIVERY_HELO_NAME", "192.0.2.1"))).getMessage().endsWith("its last label is all digits: an "
        + "address is written as an address literal, such as [192.0.2.1]"));
    assertTrue(assertThrows(ConfigException.class, () -> MailgateConfig.load(null,
        Map.of("MAILGATE_DELIVERY_HELO_NAME", "mx.example."))).getMessage().endsWith("it has an empty label (a dot at "
        + "its start or end, or two dots together)"));
    Path file = dir.resolve("mailgate.json");
    Files.writeString(file, "{\"delivery\": {\"heloName\": \"mx_1.example.com\"}}");
    ConfigException fromFile = assertThrows(ConfigException.class, () -> MailgateConfig.load(file, Map.of()));
    assertTrue(fromFile.getMessage().endsWith("it has '_', which a domain name may not have (only letters, digits "
        + "and hyphens)"), fromFile.getMessage());

    for (String good : new String[] {"mx1.example.com", "localhost", "MX-1.Example.COM", "xn--mil-qla.example",
        "a".repeat(63) + ".example", "[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::1]", "[IPv6:::ffff:192.0.2.1]",
        "0.example"}) {
      assertEquals(good, MailgateConfig.load(null, Map.of("MAILGATE_DELIVERY_HELO_NAME", good))
          .get(MailgateConfig.DELIVERY_HELO_NAME));
    }
    assertEquals("", MailgateConfig.load(null, Map.of()).get(MailgateConfig.DELIVERY_HELO_NAME), "empty: the host name");
  }

  @Test
  void environmentNames() {
    assertEquals("MAILGATE_PG_URL", MailgateConfig.PG_URL.envName());
    assertEquals("MAILGATE_RELAY_URL", MailgateConfig.RELAY_URL.envName());
    assertEquals("MAILGATE_HTTP_PORT", MailgateConfig.HTTP_PORT.envName());
    assertEquals("MAILGATE_DELIVERY_MAX_MESSAGES_PER_CONNECTION",
        MailgateConfig.DELIVERY_MAX_MESSAGES_PER_CONNECTION.envName());
  }

  @Test
  void readmeDocumentsEveryKeyAndShippedFileIsValid() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    for (ConfigKey<?> k : MailgateConfig.keys()) {
      assertTrue(readme.contains("`" + k.path() + "`") && readme.contains("`" + k.envName() + "`"),
          "README.md does not document " + k.path() + " / " + k.envName());
    }
    MailgateConfig.load(Path.of("conf/mailgate.json"), Map.of());
  }
}
