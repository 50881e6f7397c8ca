package io.mailgate.send;

import io.mailgate.identity.Account;

/** Who is sending: the authenticated account, the key it used and where the request came from. */
public record Caller(Account account, String accessKeyId, String sourceIp) {}
