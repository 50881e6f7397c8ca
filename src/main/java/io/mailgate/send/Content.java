package io.mailgate.send;

/** What the caller gave as the message: one of SES's content kinds. */
public sealed interface Content permits SimpleContent, RawContent, TemplateContent {}
