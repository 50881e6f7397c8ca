package io.mailgate.feedback;

import java.time.Instant;
import java.util.List;

/** A message that arrived for a bounce domain, as the SMTP server (or the simulator) hands it over. */
public record InboundMail(String mailFrom, List<String> rcptTo, byte[] content, String remoteAddress,
    Instant receivedAt) {}
