package io.mailgate.send.dkim;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Third-party DKIM verifiers run as processes, when the machine has them: Python dkimpy (Debian python3-dkim and
 * python3-nacl; RSA and Ed25519) and Perl Mail::DKIM (libmail-dkim-perl; RSA). DNS is answered from the test's map.
 * .ci/run installs them and sets CI, so there a missing verifier fails the test instead of skipping it: they are the
 * only check of Ed25519 signatures and of the empty body's hash.
 */
final class ExternalVerifiers {

  private ExternalVerifiers() {}

  private static final String PYTHON = "/usr/bin/python3";

  private static final String DKIMPY = String.join("\n",
      "import sys, json, dkim",
      "records = json.loads(sys.argv[1])",
      "def dns(name, timeout=5):",
      "    n = name.decode() if isinstance(name, bytes) else name",
      "    r = records.get(n.rstrip('.').lower())",
      "    return r.encode() if r else None",
      "msg = sys.stdin.buffer.read()",
      "print('pass' if dkim.verify(msg, dnsfunc=dns) else 'fail')");

  private static final String MAIL_DKIM = String.join("\n",
      "use strict; use warnings; use Mail::DKIM::Verifier; use Net::DNS;",
      "my %keys = @ARGV;",
      "{ no warnings 'redefine';",
      "  *Mail::DKIM::DNS::query = sub { my ($name, $type) = @_; my $r = $keys{lc $name};",
      "    return () unless defined $r;",
      "    return (Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [ $r =~ /(.{1,255})/gs ])); }; }",
      "binmode STDIN; local $/; my $m = <STDIN>;",
      "my $v = Mail::DKIM::Verifier->new(); $v->PRINT($m); $v->CLOSE;",
      "print $v->result, ' ', ($v->result_detail // ''), \"\\n\";");

  static void requireDkimpy() {
    require(runsOk(List.of(PYTHON, "-c", "import dkim, nacl")), "python3-dkim and python3-nacl");
  }

  static void requireMailDkim() {
    require(runsOk(List.of("perl", "-MMail::DKIM::Verifier", "-MNet::DNS", "-e", "1")), "libmail-dkim-perl");
  }

  /** Skips the test where the verifier is missing; fails it under CI (environment variable CI set). */
  private static void require(boolean available, String packages) {
    String ci = System.getenv("CI");
    if (!available && ci != null && !ci.isBlank()) {
      Assertions.fail(packages + " not installed, and CI=" + ci + " is set: .ci/run installs them");
    }
    Assumptions.assumeTrue(available, packages + " not installed");
  }

  /** "pass" or "fail". */
  static String dkimpy(byte[] message, Map<String, String> records) throws IOException, InterruptedException {
    StringBuilder json = new StringBuilder("{");
    records.forEach((name, value) -> json.append(json.length() > 1 ? "," : "").append('"').append(name)
        .append("\":\"").append(value).append('"'));
    json.append('}');
    return run(List.of(PYTHON, "-c", DKIMPY, json.toString()), message);
  }

  /** Mail::DKIM's result and detail, e.g. "pass" or "fail (body has been altered)". */
  static String mailDkim(byte[] message, Map<String, String> records) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("perl", "-e", MAIL_DKIM));
    records.forEach((name, value) -> {
      command.add(name);
      command.add(value);
    });
    return run(command, message);
  }

  private static String run(List<String> command, byte[] stdin) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(stdin);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + command.get(0));
    }
    return out;
  }

  private static boolean runsOk(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
