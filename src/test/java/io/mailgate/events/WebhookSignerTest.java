package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.SecretBox;
import io.mailgate.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * The publisher's kept HMACs sign exactly as Standard Webhooks' receivers check, under the secret a receiver is given
 * ({@link WebhookSigner#secret}), whatever was signed before with the same or another secret.
 */
class WebhookSignerTest {
  private final WebhookSigner signer = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY));

  /** What a receiver computes from the {@code whsec_} secret it was given. */
  private static String expected(String secret, String id, long timestamp, String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
    byte[] signed = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
    return "v1," + Base64.getEncoder().encodeToString(signed);
  }

  @Test
  void keptMacsSignUnderEachAccountsSecretOfEachGeneration() throws Exception {
    WebhookSigner.Macs macs = signer.macs(8);
    String[] accounts = {"111111111111", "222222222222"};
    for (int round = 0; round < 3; round++) { // the same secrets again: a kept HMAC starts each message afresh
      for (String account : accounts) {
        for (int generation = 0; generation < 3; generation++) {
          String id = "evt_" + round + "_" + account + "_" + generation;
          String body = "{\"eventType\":\"Send\",\"n\":" + round + "}";
          assertEquals(expected(signer.secret(account, generation), id, 1_700_000_000L + round, body),
              macs.signature(account, generation, id, 1_700_000_000L + round, body.getBytes(StandardCharsets.UTF_8)),
              account + " generation " + generation + " round " + round);
        }
      }
    }
    assertNotEquals(macs.signature(accounts[0], 0, "evt", 1L, new byte[0]),
        macs.signature(accounts[0], 1, "evt", 1L, new byte[0]));
  }

  /**
   * Each destination's secret is its own: another URL's (one character off), another account's or another
   * generation's differs, and none is the account's; the kept HMACs sign under each as a receiver checks.
   */
  @Test
  void eachDestinationSignsUnderASecretOfItsOwn() throws Exception {
    WebhookSigner.Macs macs = signer.macs(16);
    String url = "https://hooks.example.com/ses?token=abc";
    java.util.Set<String> secrets = new java.util.HashSet<>();
    for (String account : new String[] {"111111111111", "222222222222"}) {
      secrets.add(signer.secret(account, 0));
      for (int generation = 0; generation < 2; generation++) {
        for (String u : new String[] {url, url + "d", "sns+" + url, "https://hooks.example.com/ses?token=abd"}) {
          String secret = signer.secret(account, generation, u);
          assertTrue(secrets.add(secret), "distinct: " + account + " " + generation + " " + u);
          assertEquals(expected(secret, "evt_1", 1_700_000_000L, "{}"),
              macs.signature(account, generation, u, "evt_1", 1_700_000_000L, "{}".getBytes(StandardCharsets.UTF_8)));
        }
      }
    }
    // the account's own is kept apart from its destinations'
    assertEquals(expected(signer.secret("111111111111", 0), "evt_1", 1L, "{}"),
        macs.signature("111111111111", 0, "evt_1", 1L, "{}".getBytes(StandardCharsets.UTF_8)));
    // the same as another node derives: nothing is stored
    assertEquals(signer.secret("111111111111", 1, url),
        new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret("111111111111", 1, url));
  }

  @Test
  void keepsAtMostItsCapacityTheLeastRecentlyUsedLetGo() throws Exception {
    WebhookSigner.Macs macs = signer.macs(2);
    macs.signature("111111111111", 0, "a", 1L, new byte[0]);
    macs.signature("222222222222", 0, "a", 1L, new byte[0]);
    macs.signature("111111111111", 0, "a", 1L, new byte[0]); // used again: the other one is the eldest now
    macs.signature("333333333333", 0, "a", 1L, new byte[0]);
    assertEquals(2, macs.size());
    assertTrue(macs.holds("111111111111", 0));
    assertFalse(macs.holds("222222222222", 0));
    assertTrue(macs.holds("333333333333", 0));
    // the one let go is set up again when needed, and still signs right
    assertEquals(expected(signer.secret("222222222222", 0), "b", 2L, "x"),
        macs.signature("222222222222", 0, "b", 2L, "x".getBytes(StandardCharsets.UTF_8)));
    assertEquals(2, macs.size());
  }
}
