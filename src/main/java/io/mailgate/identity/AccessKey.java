package io.mailgate.identity;

/** An access key id with its secret (for SigV4) and the account it belongs to. */
public record AccessKey(String accessKeyId, String secret, boolean enabled, Account account) {}
