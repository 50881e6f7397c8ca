package io.mailgate.api.sigv4;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/** Requests exactly as the AWS SDK for Java v2 signs them, captured before they would hit the network. */
final class SdkRequests {

  static final String ACCESS_KEY_ID = "AKIAMAILGATETEST0001";
  static final String SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

  private SdkRequests() {}

  /** A signed request: the SDK's view, and the bytes of its body. */
  record Captured(SdkHttpRequest http, byte[] body) {

    SigV4Request toSigV4() {
      URI uri = http.getUri();
      return new SigV4Request(http.method().name(), uri.getRawPath() == null ? "" : uri.getRawPath(),
          uri.getRawQuery(), RequestHeaders.of(http.headers()), body);
    }

    String header(String name) {
      return http.firstMatchingHeader(name).orElse(null);
    }
  }

  /** Runs {@code call} against a v2 client and returns the signed request it tried to send. */
  static Captured sesV2(Region region, Consumer<SesV2Client> call) {
    return capture(SesV2Client.builder(), region, "http://localhost:8080", call);
  }

  /** Runs {@code call} against a v1 (Query API) client and returns the signed request. */
  static Captured sesV1(Region region, Consumer<SesClient> call) {
    return capture(SesClient.builder(), region, "http://localhost:8080", call);
  }

  /** Runs {@code call} against an S3 client (path-style, its endpoint under {@code /s3}) and returns the signed request. */
  static Captured s3(Consumer<S3Client> call) {
    return capture(S3Client.builder().forcePathStyle(true), Region.US_EAST_1, "http://localhost:8080/s3", call);
  }

  /** Builds the client on a capturing HTTP client (which refuses to send), runs {@code call}, returns its request. */
  private static <B extends AwsClientBuilder<B, C> & AwsSyncClientBuilder<B, C>, C extends SdkAutoCloseable> Captured
      capture(B builder, Region region, String endpoint, Consumer<C> call) {
    Capturing http = new Capturing();
    try (C client = builder
        .region(region)
        .endpointOverride(URI.create(endpoint))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY_ID, SECRET)))
        .httpClient(http)
        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
        .build()) {
      call.accept(client);
    } catch (SdkClientException expected) {
      // the capturing client refuses to send
    }
    return http.single();
  }

  /** Signs {@code request} with the SDK's own SigV4 signer, in the header or (when expires != null) the query. */
  static Captured sign(SdkHttpFullRequest request, byte[] body, String service, String region, Clock clock,
      String accessKeyId, String secret, Duration presignExpires) {
    return sign(request, body, service, region, clock, accessKeyId, secret, presignExpires, true);
  }

  static Captured sign(SdkHttpFullRequest request, byte[] body, String service, String region, Clock clock,
      String accessKeyId, String secret, Duration presignExpires, boolean signPayload) {
    SignedRequest signed = AwsV4HttpSigner.create().sign(r -> {
      r.request(request)
          .identity(AwsCredentialsIdentity.create(accessKeyId, secret))
          .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
          .putProperty(AwsV4HttpSigner.REGION_NAME, region)
          .putProperty(HttpSigner.SIGNING_CLOCK, clock)
          .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, signPayload);
      if (body != null) r.payload(ContentStreamProvider.fromByteArray(body));
      if (presignExpires != null) {
        r.putProperty(AwsV4HttpSigner.AUTH_LOCATION, AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
            .putProperty(AwsV4HttpSigner.EXPIRATION_DURATION, presignExpires);
      }
    });
    return new Captured(signed.request(), body == null ? new byte[0] : body);
  }

  private static final class Capturing implements SdkHttpClient {
    private final List<Captured> captured = new ArrayList<>();

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
      return new ExecutableHttpRequest() {
        @Override
        public HttpExecuteResponse call() throws IOException {
          byte[] body = new byte[0];
          if (request.contentStreamProvider().isPresent()) {
            try (InputStream in = request.contentStreamProvider().get().newStream()) {
              body = in.readAllBytes();
            }
          }
          captured.add(new Captured(request.httpRequest(), body));
          throw new IOException("captured, not sent");
        }

        @Override
        public void abort() {}
      };
    }

    Captured single() {
      if (captured.size() != 1) throw new UncheckedIOException(new IOException("captured " + captured.size()));
      return captured.get(0);
    }

    @Override
    public void close() {}
  }
}
