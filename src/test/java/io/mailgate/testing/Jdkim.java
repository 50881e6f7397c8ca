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
    return verify(message, txtRecords, false);
  }

  /**
   * As {@link #verify(byte[], Map)}; {@code anyTime}: the signature's time is not checked (a node whose test clock is
   * a day ahead signed it, which jDKIM would take for a time more than 5 hours in the future).
   */
  public static String verify(byte[] message, Map<String, String> txtRecords, boolean anyTime) {
    org.apache.james.jdkim.api.PublicKeyRecordRetriever keys = (method, selector, domain) -> {
      String record = txtRecords.get(selector + "._domainkey." + domain);
      if (record == null) {
        throw new PermFailException("no key for " + selector + "._domainkey." + domain);
      }
      return List.of(record);
    };
    DKIMVerifier verifier = !anyTime ? new DKIMVerifier(keys) : new DKIMVerifier(keys) {
      @Override
      public SignatureRecord newSignatureRecord(String record) {
        SignatureRecord signature = super.newSignatureRecord(record);
        return (SignatureRecord) java.lang.reflect.Proxy.newProxyInstance(SignatureRecord.class.getClassLoader(),
            new Class<?>[] {SignatureRecord.class}, (proxy, method, args) -> {
              if (method.getName().equals("getSignatureTimestamp")) {
                return null;
              }
              try {
                return method.invoke(signature, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
      }
    };
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
