package io.mailgate.testing;

import io.mailgate.MailgateNode;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Mailgate node in its own JVM ({@code io.mailgate.Main start}, the production launcher, or {@link #main} for one
 * with short delivery leases), so a test can kill it with SIGKILL as a crash would.
 */
public final class NodeProcess implements AutoCloseable {
  private final Process process;
  private final Path log;
  private final int port;

  private NodeProcess(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  public static NodeProcess start(Map<String, String> env, int httpPort) throws IOException {
    return start(env, httpPort, List.of("io.mailgate.Main", "start"));
  }

  /**
   * A node whose delivery leases last {@code leaseSeconds}, less than a production node may have (30), so that a test
   * need not wait half a minute for a killed node's leases to run out. Started by {@link #main}, not by the launcher.
   */
  public static NodeProcess start(Map<String, String> env, int httpPort, int leaseSeconds) throws IOException {
    return start(env, httpPort, List.of(NodeProcess.class.getName(), Integer.toString(leaseSeconds)));
  }

  private static NodeProcess start(Map<String, String> env, int httpPort, List<String> main) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path")));
    cmd.addAll(main);
    Path log = Files.createTempFile("mailgate-node", ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Path config = Files.createTempFile("mailgate-node", ".json");
    Files.writeString(config, "{}"); // the defaults: the environment below says the rest
    pb.environment().put("MAILGATE_CONFIG", config.toAbsolutePath().toString());
    pb.environment().put("MAILGATE_HTTP_PORT", Integer.toString(httpPort));
    pb.environment().put("MAILGATE_HTTP_HOST", "127.0.0.1");
    pb.environment().put("MAILGATE_SMTP_SUBMISSION_PORT", "0"); // several nodes run at once; a test sets a port
    pb.environment().putAll(env);
    NodeProcess node = new NodeProcess(pb.start(), log, httpPort);
    node.awaitHealthy(Duration.ofSeconds(60));
    return node;
  }

  /**
   * {@code NodeProcess <leaseSeconds>}: a production node (config from MAILGATE_CONFIG and the environment, as the
   * launcher's start reads it) with delivery.leaseSeconds set below its least. It runs until it is killed.
   */
  public static void main(String[] args) throws Exception {
    MailgateConfig config = MailgateConfig.load(Path.of(System.getenv("MAILGATE_CONFIG")), System.getenv())
        .with(MailgateConfig.DELIVERY_LEASE_SECONDS, Integer.parseInt(args[0]));
    MailgateNode.start(Vertx.vertx(), config, Clock.systemUTC(), false)
        .toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  private void awaitHealthy(Duration timeout) {
    HttpClient http = HttpClient.newHttpClient();
    Await.until(() -> {
      if (!process.isAlive()) {
        throw new AssertionError("node exited with " + process.exitValue() + ":\n" + log());
      }
      try {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/_mailgate/health")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }, timeout);
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed or released. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      process.waitFor();
    }
  }
}
