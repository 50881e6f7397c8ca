package io.mailgate.store;

import java.time.Instant;
import java.util.List;

/** An accepted message as it is committed: the message row (which is also its Send event) and its recipients. */
public record NewMessage(String id, String accountId, String source, String envelopeFrom, String verpDomain,
    String configurationSet,
    String tagsJson, byte[] content, List<String> recipients, Instant acceptedAt, String sourceIp,
    String callerIdentity) {}
