package io.mailgate.testing;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.FailException;
import org.apache.james.jdkim.exceptions.PermFailException;

/** Apache James jDKIM as the independent verifier of what Mailgate signs; DNS answered from a map. */
public final class Jdkim {
  private Jdkim() {}

  /**
   * The DKIM key record {@code domain}'s identity asks to publish (its name and TXT value), which {@link #verify}
   * takes in place of DNS.
   */
  public static Map.Entry<String, String> publishedKey(TestNode node, String domain) {
    JsonObject identity = new JsonObject(node.signed("GET", "/v2/email/identities/" + domain, null, Map.of()).body());
    JsonObject record = identity.getJsonArray("DnsRecords").getJsonObject(0);
    return Map.entry(record.getString("Name"), record.getString("Value"));
  }

  /** Null when the message carries exactly one valid signature; otherwise jDKIM's reason. */
  public static String verify(byte[] message, Map<String, String> txtRecords) {
    DKIMVerifier verifier = new DKIMVerifier((method, selector, domain) -> {
      String record = txtRecords.get(selector + "._domainkey." + domain);
      if (record == null) {
        throw new PermFailException("no key for " + selector + "._domainkey." + domain);
      }
      return List.of(record);
    });
    try {
      List<SignatureRecord> valid = verifier.verify(new ByteArrayInputStream(message));
      return valid != null && valid.size() == 1 ? null : "no valid signature: " + valid;
    } catch (FailException e) {
      return e.getMessage();
    } catch (Exception e) {
      return e.toString();
    }
  }
}
