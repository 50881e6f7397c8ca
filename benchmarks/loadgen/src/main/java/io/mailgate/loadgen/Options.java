package io.mailgate.loadgen;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/** Command line of the load generator: {@code --name value} pairs and a few bare flags. */
final class Options {
  static final String USAGE = """
      usage: java -jar loadgen.jar [options]
        --mode max|rate        max: closed loop, each connection keeps --inflight requests outstanding;
                               rate: open loop at --rate requests/s, latency from each request's intended send time
                               (default max)
        --url URL              node endpoint (default http://127.0.0.1:8080)
        --connections C        HTTP/1.1 keep-alive connections (default 32)
        --inflight P           requests outstanding per connection in max mode (default 1; more than 1 turns on
                               HTTP/1.1 pipelining, which the benchmark does not use)
        --rate R               requests per second in rate mode
        --duration S           measured seconds (default 30)
        --warmup S             seconds of load before measuring, not counted (default 5)
        --body-bytes N         size of the Simple text body (default 2048; 102400 for the 100 KB scenario)
        --recipients K         recipients per message, in ToAddresses (default 1)
        --from ADDRESS         FromEmailAddress (default "Mailgate Bench <bench-sender@example.com>"); a sender of a
                               domain identity with DKIM makes every message signed
        --configuration-set N  ConfigurationSetName of every request (default none)
        --access-key ID        SigV4 access key id (default AKIAMAILGATEDEV00001, the start-dev key)
        --secret-key KEY       SigV4 secret (default mailgate/dev/secret/key/0000000000000000)
        --region R             signing region (default us-east-1); the service is always ses
        --sink-file PATH       output of `smtp-sink -c`; when given, the sink's message count is read at the start
                               and end of the measured window and delivered/s is reported for the same window
        --timeout S            a request unanswered after S seconds counts as an error (default 60)
        --drain-timeout S      after the window, wait at most S seconds for outstanding requests (default 60)
        --progress S           print a progress line every S seconds, 0 for none (default 5)
        --tick-ms T            rate mode: how often due requests are released when no answer arrives to release
                               them (default 1; each tick is a wakeup, about 0.1 core at 1 ms on a small VM, and
                               up to T ms of the generator's own lag is part of every latency)
        --threads N            event loops, each with its share of connections and rate (default 1)
        --self-test            check the SigV4 signer against AWS's documented example and exit
      other tools in the same jar:
        --mode rsa [--duration S] [--threads N]   raw RSA-2048 SHA256withRSA signatures/s with the JDK provider
        --mode webhook --port P --count-file F     an event webhook: answers 204, counts posts into F
        --mode smtp [--smtp-host H] [--smtp-port P] [--connections N] [--body-bytes B] [--warmup S] [--duration S]
                    [--access-key K --secret-key S --region R | --smtp-password P] [--sink-file F]
                               SMTP submission like smtp-source -s N -d -l B, with AUTH PLAIN (SES SMTP credentials)
        java -cp loadgen.jar io.mailgate.loadgen.JfrTop FILE.jfr [N]   where the CPU samples of a recording are
      """;

  private final Map<String, String> values = new LinkedHashMap<>();

  static Options parse(String[] args) {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument: " + a);
      }
      String name = a.substring(2);
      int eq = name.indexOf('=');
      if (eq >= 0) {
        o.values.put(name.substring(0, eq), name.substring(eq + 1));
      } else if (name.equals("self-test") || name.equals("help")) {
        o.values.put(name, "true");
      } else {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value for --" + name);
        }
        o.values.put(name, args[++i]);
      }
    }
    return o;
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String string(String name, String def) {
    return values.getOrDefault(name, def);
  }

  int integer(String name, int def) {
    String v = values.get(name);
    try {
      return v == null ? def : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be an integer: " + v);
    }
  }

  double decimal(String name, double def) {
    String v = values.get(name);
    try {
      return v == null ? def : Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be a number: " + v);
    }
  }

  /** The validated settings of a load run. */
  record Load(String mode, String host, int port, int connections, int inflight, double rate, double durationS,
      double warmupS, int bodyBytes, int recipients, String from, String accessKey, String secretKey, String region,
      String sinkFile, double timeoutS, double drainTimeoutS, double progressS, int threads, int tickMs,
      String configurationSet) {

    long durationNanos() {
      return (long) (durationS * 1e9);
    }

    long warmupNanos() {
      return (long) (warmupS * 1e9);
    }
  }

  private String from() {
    String from = string("from", "Mailgate Bench <bench-sender@example.com>");
    if (from.indexOf('@') < 0 || from.chars().anyMatch(c -> c == '"' || c == '\\' || c < 0x20)) {
      throw new IllegalArgumentException("--from must be an address without quotes or control characters: " + from);
    }
    return from;
  }

  private String configurationSet() {
    String set = values.get("configuration-set");
    if (set != null && !set.matches("[A-Za-z0-9_-]{1,64}")) {
      throw new IllegalArgumentException("--configuration-set must be 1-64 letters, digits, _ or -: " + set);
    }
    return set;
  }

  Load load() {
    String mode = string("mode", "max");
    if (!mode.equals("max") && !mode.equals("rate")) {
      throw new IllegalArgumentException("--mode must be max or rate: " + mode);
    }
    URI url = URI.create(string("url", "http://127.0.0.1:8080"));
    if (!"http".equals(url.getScheme()) || url.getHost() == null) {
      throw new IllegalArgumentException("--url must be http://host:port");
    }
    int port = url.getPort() < 0 ? 80 : url.getPort();
    int threads = integer("threads", 1);
    int connections = integer("connections", 32);
    double rate = decimal("rate", 0);
    if (mode.equals("rate") && rate <= 0) {
      throw new IllegalArgumentException("--mode rate needs --rate R > 0");
    }
    if (connections < threads || threads < 1) {
      throw new IllegalArgumentException("need --threads >= 1 and --connections >= --threads");
    }
    int recipients = integer("recipients", 1);
    if (recipients < 1 || recipients > 50) {
      throw new IllegalArgumentException("--recipients must be 1..50 (SES allows 50)");
    }
    return new Load(mode, url.getHost(), port, connections, Math.max(1, integer("inflight", 1)), rate,
        decimal("duration", 30), decimal("warmup", 5), integer("body-bytes", 2048), recipients, from(),
        string("access-key", "AKIAMAILGATEDEV00001"), string("secret-key", "mailgate/dev/secret/key/0000000000000000"),
        string("region", "us-east-1"), values.get("sink-file"), decimal("timeout", 60), decimal("drain-timeout", 60),
        decimal("progress", 5), threads, Math.max(1, integer("tick-ms", 1)), configurationSet());
  }
}
