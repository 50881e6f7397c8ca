package io.mailgate.testing;

import io.mailgate.identity.Accounts;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * An account of its own for one test (out of the other tests' way on a shared node), in production, with its SES v1
 * and v2 clients.
 */
public record Tenant(Accounts.NewKey key, SesClient v1, SesV2Client v2) implements AutoCloseable {
  public static Tenant create(TestNode node, String name) {
    Accounts.NewKey key = node.createAccount(name, true, 100, 1000);
    return new Tenant(key, node.sesV1(key.accessKeyId(), key.secretAccessKey()),
        node.sesV2(key.accessKeyId(), key.secretAccessKey()));
  }

  public String id() {
    return key.accountId();
  }

  @Override
  public void close() {
    v1.close();
    v2.close();
  }
}
