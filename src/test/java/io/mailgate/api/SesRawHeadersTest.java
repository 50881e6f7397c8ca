package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mailgate.SesException;
import io.mailgate.send.SendRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SesRawHeadersTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void readsAndRemovesSesHeadersOnly() {
    SesRawHeaders.Extracted e = SesRawHeaders.extract(bytes("From: a@example.com\r\n"
        + "X-SES-CONFIGURATION-SET: transactional\r\n"
        + "Subject: hi\r\n"
        + "x-ses-message-tags: campaign=welcome,\r\n lang = en\r\n"
        + "To: b@example.org\r\n\r\n"
        + "X-SES-CONFIGURATION-SET: in the body stays\r\n"));
    assertEquals("transactional", e.configurationSet());
    assertEquals(List.of(new SendRequest.EmailTag("campaign", "welcome"), new SendRequest.EmailTag("lang", "en")), e.tags());
    assertEquals("From: a@example.com\r\nSubject: hi\r\nTo: b@example.org\r\n\r\n"
        + "X-SES-CONFIGURATION-SET: in the body stays\r\n", new String(e.message(), StandardCharsets.UTF_8));
  }

  @Test
  void aMessageWithBareLineFeedsHasThemReadAndRemovedToo() {
    SesRawHeaders.Extracted e = SesRawHeaders.extract(bytes("From: a@example.com\n"
        + "X-SES-CONFIGURATION-SET: transactional\nX-SES-MESSAGE-TAGS: campaign=welcome\nSubject: hi\n\nbody\n"));
    assertEquals("transactional", e.configurationSet());
    assertEquals(List.of(new SendRequest.EmailTag("campaign", "welcome")), e.tags());
    assertEquals("From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n", new String(e.message(), StandardCharsets.UTF_8));
  }

  /** What the headers do not name is the request's as it was: its own message limit (SES v1's 10 MB) among it. */
  @Test
  void aRequestKeepsItsMessageLimitWhenItsHeadersAreApplied() {
    SendRequest request = new SendRequest("a@example.com", null, null, null, null,
        new io.mailgate.send.RawContent(bytes("From: a@example.com\r\nX-SES-CONFIGURATION-SET: transactional\r\n"
            + "To: b@example.org\r\n\r\nbody\r\n")), null, null, null, null).withMaxMessageBytes(10 << 20);
    SendRequest applied = SesRawHeaders.applyTo(request);
    assertEquals("transactional", applied.configurationSet());
    assertEquals(10 << 20, applied.maxMessageBytes());
  }

  @Test
  void aMessageWithoutThemIsUntouched() {
    byte[] m = bytes("From: a@example.com\nX-SES-Other: kept\nSubject: hi\n\nbody\n");
    SesRawHeaders.Extracted e = SesRawHeaders.extract(m);
    assertSame(m, e.message());
    assertNull(e.configurationSet());
    assertEquals(List.of(), e.tags());
  }

  @Test
  void malformedTagsAndTwoSetsAreBadRequests() {
    assertThrows(SesException.class, () -> SesRawHeaders.extract(bytes("X-SES-MESSAGE-TAGS: novalue\r\n\r\nx")));
    assertThrows(SesException.class, () -> SesRawHeaders.extract(bytes("X-SES-MESSAGE-TAGS: bad name=x\r\n\r\nx")));
    assertThrows(SesException.class, () -> SesRawHeaders.extract(
        bytes("X-SES-CONFIGURATION-SET: a\r\nX-SES-CONFIGURATION-SET: b\r\n\r\nx")));
  }

  @Test
  void listManagementOptionsAreReadFromTheirHeader() {
    SesRawHeaders.Extracted e = SesRawHeaders.extract(bytes("From: a@example.com\r\n"
        + "X-SES-LIST-MANAGEMENT-OPTIONS: news ; TOPIC=weekly\r\nSubject: hi\r\n\r\nbody\r\n"));
    assertEquals(new SendRequest.ListManagement("news", "weekly"), e.list());
    assertEquals("From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n", new String(e.message(), StandardCharsets.UTF_8));
    assertEquals(new SendRequest.ListManagement("news", null), SesRawHeaders.listManagement(" news "));
    for (String bad : List.of("news; weekly", "news; topic=a; topic=b", "bad name", "news; topic=", "")) {
      assertThrows(SesException.class, () -> SesRawHeaders.listManagement(bad), bad);
    }
    assertThrows(SesException.class, () -> SesRawHeaders.extract(bytes("X-SES-LIST-MANAGEMENT-OPTIONS: a\r\n"
        + "X-SES-LIST-MANAGEMENT-OPTIONS: b\r\n\r\nx\r\n")));
  }
}
