package io.mailgate.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/** Verifies an email identity the way its owner would: by following the link in the email. */
public final class Verification {
  private static final Pattern LINK = Pattern.compile("(http://\\S+/_mailgate/verify-email\\?token=[A-Za-z0-9_\\-.]+)");

  private Verification() {}

  public static String linkFor(RecordingSmtpServer relay, String address) {
    RecordingSmtpServer.Received mail = Await.until(() -> relay.received().stream()
            .filter(r -> r.rcptTo().contains(address) && r.text().contains("Verification Request")).findFirst()
            .orElse(null),
        r -> r != null, Duration.ofSeconds(20));
    Matcher m = LINK.matcher(mail.text().replace("=\r\n", ""));
    if (!m.find()) {
      throw new AssertionError("no verification link in:\n" + mail.text());
    }
    return m.group(1);
  }

  public static HttpResponse<String> follow(String link) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(link)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Creates the identity and follows its link; the address is then verified. */
  public static void verifiedAddress(SesV2Client ses, RecordingSmtpServer relay, String address) {
    ses.createEmailIdentity(r -> r.emailIdentity(address));
    HttpResponse<String> r = follow(linkFor(relay, address));
    if (r.statusCode() != 200) {
      throw new AssertionError("verification failed: " + r.statusCode() + " " + r.body());
    }
  }
}
