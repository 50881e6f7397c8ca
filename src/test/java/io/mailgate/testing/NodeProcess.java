package io.mailgate.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Mailgate node in its own JVM ({@code io.mailgate.Main start}, the production launcher), so a
 * test can kill it with SIGKILL as a crash would.
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
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        "io.mailgate.Main", "start"));
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
