package io.mailgate.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A plain SMTP client for tests: one transaction, every reply kept (last line of each). */
public final class SmtpClient {
  private SmtpClient() {}

  /** Sends {@code data} (CRLF lines, dot-stuffing done here) and returns the replies in order. */
  public static List<String> send(int port, String from, List<String> rcpts, String data) throws IOException {
    return send(port, from, rcpts, data, false);
  }

  /**
   * Sends again until the replies meet {@code until} (receipt rules written take up to a node's cache TTL to be seen),
   * for at most 5 s; the replies of the last try.
   */
  public static List<String> sendUntil(int port, String from, List<String> rcpts, String data,
      java.util.function.Predicate<List<String>> until) {
    return Await.until(() -> {
      try {
        return send(port, from, rcpts, data);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, until, java.time.Duration.ofSeconds(5));
  }

  /** With {@code smtpUtf8}, MAIL carries the SMTPUTF8 parameter and every line goes as UTF-8 (RFC 6531). */
  public static List<String> send(int port, String from, List<String> rcpts, String data, boolean smtpUtf8)
      throws IOException {
    return send("127.0.0.1", port, from, rcpts, data, smtpUtf8);
  }

  /** To {@code host}; a greeting other than 220 ends it (the replies are then that one). */
  public static List<String> send(String host, int port, String from, List<String> rcpts, String data,
      boolean smtpUtf8) throws IOException {
    java.nio.charset.Charset charset = smtpUtf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
    List<String> replies = new ArrayList<>();
    try (Socket s = new Socket(host, port)) {
      s.setSoTimeout(20_000);
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = s.getOutputStream();
      replies.add(reply(in));
      if (!replies.get(0).startsWith("220")) {
        return replies;
      }
      command(out, in, "EHLO test.example", replies, charset);
      command(out, in, "MAIL FROM:<" + from + ">" + (smtpUtf8 ? " SMTPUTF8" : ""), replies, charset);
      boolean any = false;
      for (String r : rcpts) {
        command(out, in, "RCPT TO:<" + r + ">", replies, charset);
        any |= replies.get(replies.size() - 1).startsWith("250");
      }
      if (!any) {
        command(out, in, "QUIT", replies, charset);
        return replies;
      }
      command(out, in, "DATA", replies, charset);
      StringBuilder stuffed = new StringBuilder();
      for (String line : data.split("\r\n", -1)) {
        stuffed.append(line.startsWith(".") ? "." : "").append(line).append("\r\n");
      }
      out.write(stuffed.append(".\r\n").toString().getBytes(charset));
      out.flush();
      replies.add(reply(in));
      command(out, in, "QUIT", replies, charset);
    }
    return replies;
  }

  private static void command(OutputStream out, BufferedReader in, String line, List<String> replies,
      java.nio.charset.Charset charset) throws IOException {
    out.write((line + "\r\n").getBytes(charset));
    out.flush();
    replies.add(reply(in));
  }

  private static String reply(BufferedReader in) throws IOException {
    String line;
    do {
      line = in.readLine();
      if (line == null) {
        return "(closed)";
      }
    } while (line.length() > 3 && line.charAt(3) == '-');
    return line;
  }
}
