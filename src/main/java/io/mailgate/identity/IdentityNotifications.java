package io.mailgate.identity;

import java.util.Map;
import java.util.Set;

/**
 * An identity's notification settings (SES v1's IdentityNotificationAttributes): the webhook each type's notifications
 * are posted to (SnsTopic is its URL), whether feedback forwarding is on (stored and reported: Mailgate does not mail
 * feedback to the Return-Path), and which types' notifications carry the message's headers.
 */
public record IdentityNotifications(String identity, Map<NotificationType, String> topics, boolean forwarding,
    Set<NotificationType> withHeaders) {}
