package io.mailgate.testing;

import io.mailgate.MailgateNode;
import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.CaptureSink;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.identity.Accounts;
import io.mailgate.identity.SecretBox;
import io.mailgate.store.Database;
import io.vertx.sqlclient.Pool;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A running Mailgate node for integration tests: its own database and Redis prefix, the relay
 * the test chooses, the dev account (known keys), and clients that talk to it like a user would.
 */
public final class TestNode implements AutoCloseable {
  public static final String ACCESS_KEY = "AKIATESTMAILGATE0001";
  public static final String SECRET = "test/secret/key/000000000000000000000000";

  private final Vertx vertx;
  private final MailgateNode node;
  private final MailgateConfig config;
  private final HttpClient http = HttpClient.newHttpClient();

  private TestNode(Vertx vertx, MailgateNode node) {
    this.vertx = vertx;
    this.node = node;
    this.config = node.config();
  }

  public static final String MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LXRlc3QtbWFzdGVyLWtleS0wMQ==";

  public static TestNode start(String relayUrl) {
    return start(relayUrl, c -> c);
  }

  /** A start-dev node (default account with the test keys, identities verify themselves). */
  public static TestNode start(String relayUrl, UnaryOperator<MailgateConfig> customize) {
    return start(TestServices.freshDatabase(), TestServices.uniquePrefix(), relayUrl, customize, true);
  }

  /** A production node: no default account ({@link #createAccount}), identities verified for real. */
  public static TestNode startProduction(String relayUrl, UnaryOperator<MailgateConfig> customize) {
    return start(TestServices.freshDatabase(), TestServices.uniquePrefix(), relayUrl, customize, false);
  }

  /** A node on a given database and Redis prefix (several nodes can share them). */
  public static TestNode start(String pgUrl, String redisPrefix, String relayUrl,
      UnaryOperator<MailgateConfig> customize, boolean dev) {
    return start(pgUrl, redisPrefix, relayUrl, customize, dev, Clock.systemUTC());
  }

  /** A start-dev node whose clock is {@code clock}, its config customized. */
  public static TestNode start(String relayUrl, UnaryOperator<MailgateConfig> customize, Clock clock) {
    return start(TestServices.freshDatabase(), TestServices.uniquePrefix(), relayUrl, customize, true, clock);
  }

  /** A start-dev node whose clock is {@code clock} (one that is off, say). */
  public static TestNode start(String relayUrl, Clock clock) {
    return start(TestServices.freshDatabase(), TestServices.uniquePrefix(), relayUrl, c -> c, true, clock);
  }

  /**
   * A start-dev node without a relay, whose mail is captured as start-dev captures it ({@code Main.start}): the
   * capture sink on the node's Vert.x, the configuration pointed at it by {@code Main.capturing}, the mail listed at
   * {@code /_mailgate/captured}.
   */
  public static TestNode startCapturing(UnaryOperator<MailgateConfig> customize) {
    return start(TestServices.freshDatabase(), TestServices.uniquePrefix(), null, customize, true, Clock.systemUTC());
  }

  /**
   * Starts a node on ports free when chosen, again on new ones (up to three times) if one was taken before the node
   * bound it: the tests' own outgoing connections draw their local ports from the range {@code bind(0)} chooses from.
   *
   * @param relayUrl null: captured ({@link #startCapturing})
   */
  private static TestNode start(String pgUrl, String redisPrefix, String relayUrl,
      UnaryOperator<MailgateConfig> customize, boolean dev, Clock clock) {
    for (int attempt = 1; ; attempt++) {
      try {
        return startOnce(pgUrl, redisPrefix, relayUrl, customize, dev, clock);
      } catch (IllegalStateException e) {
        if (attempt == 3 || !portTaken(e)) {
          throw e;
        }
      }
    }
  }

  private static boolean portTaken(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof java.net.BindException
          || String.valueOf(t.getMessage()).contains("Address already in use")) {
        return true;
      }
    }
    return false;
  }

  private static TestNode startOnce(String pgUrl, String redisPrefix, String relayUrl,
      UnaryOperator<MailgateConfig> customize, boolean dev, Clock clock) {
    MailgateConfig c = MailgateConfig.defaults()
        .with(MailgateConfig.PG_URL, pgUrl)
        .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
        .with(MailgateConfig.REDIS_KEY_PREFIX, redisPrefix)
        .with(MailgateConfig.RELAY_URL, relayUrl == null ? "" : relayUrl)
        .with(MailgateConfig.HTTP_HOST, "127.0.0.1")
        .with(MailgateConfig.HTTP_PORT, EmbeddedServices.freePort())
        .with(MailgateConfig.HTTP_INSTANCES, 2)
        .with(MailgateConfig.DELIVERY_INSTANCES, 2)
        .with(MailgateConfig.NODE_ID, "test-node-" + EmbeddedServices.freePort())
        .with(MailgateConfig.DEV_ACCESS_KEY_ID, ACCESS_KEY)
        .with(MailgateConfig.DEV_SECRET_ACCESS_KEY, SECRET)
        .with(MailgateConfig.DEV_MAX_SEND_RATE, 1000.0)
        // tests create identities faster than an account may have verification emails sent (VerificationEmailLimitTest)
        .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_SECOND, 0.0)
        .with(MailgateConfig.DELIVERY_SCAN_INTERVAL_SECONDS, 1)
        .with(MailgateConfig.DELIVERY_ALLOW_PRIVATE_ADDRESSES, true) // the tests' MX hosts are on 127.0.0.1
        // the internet's blocklists are not for a test's source addresses (BlocklistTest names its own)
        .with(MailgateConfig.DELIVERY_BLOCKLISTS, "")
        .with(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES, true) // and their webhooks
        .with(MailgateConfig.EVENTS_POLL_MILLIS, 200)
        .with(MailgateConfig.EVENTS_RETRY_BASE_SECONDS, 1)
        .with(MailgateConfig.SECURITY_MASTER_KEY, MASTER_KEY)
        .with(MailgateConfig.CACHE_TTL_MILLIS, 300)
        .with(MailgateConfig.SMTP_INBOUND_HOST, "127.0.0.1")
        .with(MailgateConfig.SMTP_INBOUND_PORT, EmbeddedServices.freePort())
        .with(MailgateConfig.SMTP_SUBMISSION_HOST, "127.0.0.1")
        .with(MailgateConfig.SMTP_SUBMISSION_PORT, EmbeddedServices.freePort())
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_PORT, EmbeddedServices.freePort())
        .with(MailgateConfig.SMTP_SUBMISSION_PLAINTEXT_AUTH, true);
    c = customize.apply(c);
    Vertx vertx = Vertx.vertx();
    try {
      if (relayUrl == null) {
        // closed with the Vert.x it runs on
        CaptureSink sink = CaptureSink.start(vertx, c.get(MailgateConfig.DEV_CAPTURE_LIMIT))
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        c = io.mailgate.StartDevCapture.capturing(c, sink.port());
      }
      MailgateNode node = MailgateNode.start(vertx, c, clock, dev)
          .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      return new TestNode(vertx, node);
    } catch (Exception e) {
      try {
        // closed before a retry starts: what the failed start deployed stops using the database and Redis prefix
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception closing) {
        e.addSuppressed(closing);
      }
      throw new IllegalStateException("node did not start: " + e.getMessage(), e);
    }
  }

  public MailgateConfig config() {
    return config;
  }

  /** Creates an account (sandbox unless {@code production}) with an access key, as the admin command does. */
  public Accounts.NewKey createAccount(String name, boolean production, double maxSendRate, long max24HourSend) {
    return withAccounts(a -> a.create(name, maxSendRate, max24HourSend, production));
  }

  public void updateAccount(String id, Double rate, Long quota, Boolean production, Boolean sending) {
    withAccounts(a -> a.update(id, rate, quota, production, sending));
  }

  public <T> T withAccounts(java.util.function.Function<Accounts, io.vertx.core.Future<T>> op) {
    Pool pool = Database.pool(vertx, config, 1);
    try {
      return op.apply(new Accounts(pool, SecretBox.fromBase64(MASTER_KEY)))
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      pool.close();
    }
  }

  public Vertx vertx() {
    return vertx;
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + config.get(MailgateConfig.HTTP_PORT));
  }

  public SesV2Client sesV2() {
    return sesV2(ACCESS_KEY, SECRET);
  }

  public SesV2Client sesV2(String key, String secret) {
    return SesV2Client.builder()
        .endpointOverride(endpoint())
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
        .build();
  }

  /**
   * The SDK's S3 client as a user configures it for Mailgate's S3 endpoint: the endpoint with its path, path-style;
   * {@code attempts} the SDK's attempts at a call.
   */
  public software.amazon.awssdk.services.s3.S3Client s3(String key, String secret, int attempts) {
    return software.amazon.awssdk.services.s3.S3Client.builder()
        .endpointOverride(URI.create(endpoint() + io.mailgate.api.s3.S3Api.PATH))
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(attempts)))
        .build();
  }

  /** The SES v1 (Query API) client of the AWS SDK, against this node. */
  public software.amazon.awssdk.services.ses.SesClient sesV1() {
    return sesV1(ACCESS_KEY, SECRET);
  }

  public software.amazon.awssdk.services.ses.SesClient sesV1(String key, String secret) {
    return software.amazon.awssdk.services.ses.SesClient.builder()
        .endpointOverride(endpoint())
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
        .build();
  }

  /** One sample of the node's metrics endpoint ({@code name} with its labels, as written there); -1 when absent. */
  public long metric(String name) {
    String all = signed("GET", "/_mailgate/metrics", null, Map.of()).body();
    return all.lines().filter(l -> l.startsWith(name + " ")).mapToLong(l -> Long.parseLong(l.substring(name.length()
        + 1))).findFirst().orElse(-1);
  }

  /** An HTTP request signed with SigV4 for service ses, like the SDK would send it. */
  /** The request signed with SigV4 (its headers then carry the signature), to be sent by any client. */
  public SignedRequest sign(String method, String path, byte[] body, Map<String, String> headers, String accessKey,
      String secret) {
    SdkHttpRequest.Builder req = SdkHttpRequest.builder().method(SdkHttpMethod.fromValue(method))
        .uri(endpoint().resolve(path));
    headers.forEach(req::putHeader);
    return AwsV4HttpSigner.create().sign(r -> r
        .identity(AwsCredentialsIdentity.create(accessKey, secret))
        .request(req.build())
        .payload(() -> new ByteArrayInputStream(body))
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "ses")
        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"));
  }

  public HttpResponse<String> signed(String method, String path, String body, Map<String, String> headers) {
    return signed(method, path, body, headers, ACCESS_KEY, SECRET);
  }

  public HttpResponse<String> signed(String method, String path, String body, Map<String, String> headers,
      String accessKey, String secret) {
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    SignedRequest signed = sign(method, path, bytes, headers, accessKey, secret);
    HttpRequest.Builder b = HttpRequest.newBuilder(signed.request().getUri())
        .method(method, bytes.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(bytes));
    signed.request().headers().forEach((name, values) -> {
      if (!List.of("host", "content-length").contains(name.toLowerCase())) {
        values.forEach(v -> b.header(name, v));
      }
    });
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code GET /_mailgate/messages/{id}} as JSON; fails the test on a non-200. */
  public JsonObject message(String id) {
    return message(id, ACCESS_KEY, SECRET);
  }

  public JsonObject message(String id, String accessKey, String secret) {
    HttpResponse<String> r = signed("GET", "/_mailgate/messages/" + id, null, Map.of(), accessKey, secret);
    if (r.statusCode() != 200) {
      throw new AssertionError("GET message " + id + ": " + r.statusCode() + " " + r.body());
    }
    return new JsonObject(r.body());
  }

  /** Waits until the message has {@code n} events besides Send (one per recipient outcome). */
  public JsonObject awaitOutcomes(String id, int n) {
    return awaitOutcomes(id, n, ACCESS_KEY, SECRET);
  }

  public JsonObject awaitOutcomes(String id, int n, String accessKey, String secret) {
    return Await.until(() -> message(id, accessKey, secret), m -> m.getJsonArray("Events").size() >= n + 1,
        Duration.ofSeconds(20));
  }

  @Override
  public void close() {
    try {
      node.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
