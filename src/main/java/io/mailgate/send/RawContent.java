package io.mailgate.send;

/** SES {@code Content.Raw}: a complete MIME message, sent as given (after normalization). */
public record RawContent(byte[] data) implements Content {}
