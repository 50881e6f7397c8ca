package io.mailgate.smtp;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/** Accepts everything and records the messages; thread-safe so socket tests can read it. */
class RecordingHandler implements SmtpSessionHandler {
  final List<Envelope> envelopes = new CopyOnWriteArrayList<>();
  final List<byte[]> messages = new CopyOnWriteArrayList<>();
  final List<String> mailParams = new CopyOnWriteArrayList<>();
  final List<SessionInfo> messageSessions = new CopyOnWriteArrayList<>();
  final List<String> authCalls = new CopyOnWriteArrayList<>();

  @Override
  public CompletionStage<SmtpReply> onMailFrom(
      SessionInfo session, String reversePath, Map<String, String> esmtpParams) {
    mailParams.add(esmtpParams.toString());
    return CompletableFuture.completedFuture(SmtpReply.SENDER_OK);
  }

  @Override
  public CompletionStage<Boolean> onAuth(
      SessionInfo session, String mechanism, String authzid, String username, String password) {
    authCalls.add(mechanism + " " + authzid + " " + username);
    return CompletableFuture.completedFuture(username.equals("alice") && password.equals("s3cret"));
  }

  @Override
  public CompletionStage<SmtpReply> onMessage(
      SessionInfo session, Envelope envelope, byte[] message) {
    envelopes.add(envelope);
    messages.add(message);
    messageSessions.add(session);
    return CompletableFuture.completedFuture(SmtpReply.queued("M" + messages.size()));
  }

  String message(int i) {
    return new String(messages.get(i), StandardCharsets.UTF_8);
  }
}
