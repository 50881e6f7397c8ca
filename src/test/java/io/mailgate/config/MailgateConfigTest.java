package io.mailgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
    Files.writeString(file, "{\"delivery\": {\"maxConnections\": 4.0, \"leaseSeconds\": 30}}");
    assertEquals(4, MailgateConfig.load(file, Map.of()).get(MailgateConfig.DELIVERY_MAX_CONNECTIONS));
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
