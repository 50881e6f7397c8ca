package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The operator's shaping file is merged over the shipped one entry by entry, as the shipped file says. */
class ShapingTest {

  @Test
  void anOperatorEntryChangesOnlyWhatItSaysOfTheShippedOne() throws Exception {
    Shaping shipped = Shaping.load(null);
    Shaping.Limits google = shipped.forSite(List.of("gmail-smtp-in.l.google.com"));
    Path file = Files.createTempFile("shaping", ".json");
    Files.writeString(file, "{\"default\": {\"maxConnections\": 3},"
        + " \"sites\": [{\"mx\": \"Google.com\", \"maxMessagesPerSecond\": 10}, {\"mx\": \"own.test\", \"maxMessagesPerConnection\": 7}]}");
    Shaping merged = Shaping.load(file.toString());

    assertEquals(new Shaping.Limits(google.maxConnections(), google.maxMessagesPerConnection(), 10,
        google.maxConnectionsPerMinute()), merged.forSite(List.of("gmail-smtp-in.l.google.com")));
    // a site the shipped file does not have is over the defaults, the operator's over the shipped
    Shaping.Limits defaults = shipped.forSite(List.of("mx.elsewhere.test"));
    assertEquals(new Shaping.Limits(3, 7, defaults.maxMessagesPerSecond(), defaults.maxConnectionsPerMinute()),
        merged.forSite(List.of("mx1.own.test")));
    // and shipped entries the operator does not name are as shipped
    assertEquals(shipped.forSite(List.of("mx.icloud.com")), merged.forSite(List.of("mx.icloud.com")));
  }
}
