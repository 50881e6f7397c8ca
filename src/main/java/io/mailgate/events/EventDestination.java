package io.mailgate.events;

import java.util.List;

/**
 * Where a configuration set's events go (SES v2's EventDestination): a webhook that receives each event of the
 * matching types in SES's event JSON, signed (Standard Webhooks). Disabled, it receives nothing and what was waiting
 * for it is dropped.
 */
public record EventDestination(String accountId, String configurationSet, String name, boolean enabled,
    List<EventType> types, String url) {}
