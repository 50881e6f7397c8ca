package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.bool;
import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.requiredString;
import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.JsonFields;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.lists.Contact;
import io.mailgate.lists.ContactList;
import io.mailgate.lists.ContactListStore;
import io.mailgate.lists.SubscriptionStatus;
import io.mailgate.lists.Topic;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * SES v2 list management: CreateContactList, GetContactList, ListContactLists, UpdateContactList, DeleteContactList,
 * CreateContact, GetContact, UpdateContact, DeleteContact and ListContacts. Updates replace the whole list or contact,
 * as SES's do. Everything a request says is checked before anything is stored: a bad request changes nothing. A
 * contact's preferences may name only topics its list has; preferences for a topic later removed from the list are
 * kept but no longer shown (a topic added back under the same name finds them again).
 */
public final class ContactListsHandler {
  private final ContactListStore store;

  public ContactListsHandler(ContactListStore store) {
    this.store = store;
  }

  public Future<JsonObject> createList(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    ContactList list = list(requiredString(body, "ContactListName", ""), body, JsonFields.tags(body, "Tags"));
    return store.create(caller.account().id(), list).map(v -> new JsonObject());
  }

  public Future<JsonObject> getList(Caller caller, RoutingContext ctx) {
    return find(caller, ctx.pathParam("name")).map(l -> {
      JsonObject out = new JsonObject().put("ContactListName", l.name()).put("Topics", l.topicsJson());
      if (l.description() != null) {
        out.put("Description", l.description());
      }
      return out.put("CreatedTimestamp", epoch(l.createdAt())).put("LastUpdatedTimestamp", epoch(l.updatedAt()))
          .put("Tags", l.tags());
    });
  }

  public Future<JsonObject> listLists(Caller caller, RoutingContext ctx) {
    Paging paging = Paging.of(ctx, null, 10);
    return store.page(caller.account().id(), paging.after(), paging.pageSize() + 1).map(rows -> {
      JsonArray out = new JsonArray();
      for (ContactList l : rows.subList(0, Math.min(rows.size(), paging.pageSize()))) {
        out.add(new JsonObject().put("ContactListName", l.name()).put("LastUpdatedTimestamp", epoch(l.updatedAt())));
      }
      JsonObject page = new JsonObject().put("ContactLists", out);
      if (rows.size() > paging.pageSize()) {
        page.put("NextToken", paging.next(rows.get(paging.pageSize() - 1).name()));
      }
      return page;
    });
  }

  /** Every member of UpdateContactList's and UpdateContact's requests is optional: no body is an empty one. */
  public Future<JsonObject> updateList(Caller caller, RoutingContext ctx) {
    ContactList list = list(ctx.pathParam("name"), V2Route.body(ctx), null);
    return store.update(caller.account().id(), list).compose(updated -> updated
        ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(ContactListStore.listNotFound(list.name())));
  }

  public Future<JsonObject> deleteList(Caller caller, RoutingContext ctx) {
    String name = ContactList.checkName(ctx.pathParam("name"));
    return store.delete(caller.account().id(), name).compose(deleted -> deleted
        ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(ContactListStore.listNotFound(name)));
  }

  public Future<JsonObject> createContact(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String address = Contact.checkAddress(requiredString(body, "EmailAddress", ""));
    return find(caller, ctx.pathParam("name"))
        .compose(l -> store.createContact(caller.account().id(), l.name(), Contact.fromRequest(address, body, l)))
        .map(v -> new JsonObject());
  }

  public Future<JsonObject> getContact(Caller caller, RoutingContext ctx) {
    String address = Contact.checkAddress(ctx.pathParam("email"));
    return find(caller, ctx.pathParam("name")).compose(l -> store.findContact(caller.account().id(), l.name(), address)
        .compose(found -> found.isEmpty() ? Future.failedFuture(contactNotFound(address, l.name()))
            : Future.succeededFuture(withAttributes(contactJson(found.get(), l), found.get())
                .put("ContactListName", l.name()).put("CreatedTimestamp", epoch(found.get().createdAt())))));
  }

  public Future<JsonObject> updateContact(Caller caller, RoutingContext ctx) {
    String address = Contact.checkAddress(ctx.pathParam("email"));
    JsonObject body = V2Route.body(ctx);
    return find(caller, ctx.pathParam("name"))
        .compose(l -> store.updateContact(caller.account().id(), l.name(), Contact.fromRequest(address, body, l),
            l.topics().stream().map(io.mailgate.lists.Topic::name).toList())
            .compose(updated -> updated ? Future.succeededFuture(new JsonObject())
                : Future.failedFuture(contactNotFound(address, l.name()))));
  }

  public Future<JsonObject> deleteContact(Caller caller, RoutingContext ctx) {
    String address = Contact.checkAddress(ctx.pathParam("email"));
    return find(caller, ctx.pathParam("name")).compose(l -> store.deleteContact(caller.account().id(), l.name(), address)
        .compose(deleted -> deleted ? Future.succeededFuture(new JsonObject())
            : Future.failedFuture(contactNotFound(address, l.name()))));
  }

  /** ListContacts: a POST whose body holds the filter and the paging. */
  public Future<JsonObject> listContacts(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Paging paging = Paging.of(ctx, body, 10);
    JsonObject filter = object(body, "Filter", "");
    SubscriptionStatus status = null;
    JsonObject topicFilter = null;
    if (filter != null) {
      String s = string(filter, "FilteredStatus", "Filter");
      status = s == null ? null : SubscriptionStatus.parse(s, "Filter.FilteredStatus");
      topicFilter = object(filter, "TopicFilter", "Filter");
    }
    SubscriptionStatus filtered = status;
    JsonObject topicOnly = topicFilter;
    return find(caller, ctx.pathParam("name")).compose(l -> {
      ContactListStore.Filter f;
      if (topicOnly == null) {
        f = new ContactListStore.Filter(filtered, null, false);
      } else {
        String topicName = requiredString(topicOnly, "TopicName", "Filter.TopicFilter");
        Topic topic = l.topic(topicName).orElseThrow(() -> Contact.unknownTopic(topicName, l.name()));
        f = new ContactListStore.Filter(filtered, topic,
            bool(topicOnly, "UseDefaultIfPreferenceUnavailable", "Filter.TopicFilter", false));
      }
      return store.contacts(caller.account().id(), l.name(), f, paging.after(), paging.pageSize() + 1).map(rows -> {
        JsonArray out = new JsonArray();
        for (Contact c : rows.subList(0, Math.min(rows.size(), paging.pageSize()))) {
          out.add(contactJson(c, l));
        }
        JsonObject page = new JsonObject().put("Contacts", out);
        if (rows.size() > paging.pageSize()) {
          page.put("NextToken", paging.next(Contact.key(rows.get(paging.pageSize() - 1).address())));
        }
        return page;
      });
    });
  }

  /** The caller's list, NOT_FOUND when it has none of that name. */
  private Future<ContactList> find(Caller caller, String name) {
    ContactList.checkName(name);
    return store.find(caller.account().id(), name).compose(found -> found.isPresent()
        ? Future.succeededFuture(found.get()) : Future.failedFuture(ContactListStore.listNotFound(name)));
  }

  /**
   * A CreateContactList or UpdateContactList body (Topics and Description) for the list {@code name}, with the
   * {@code tags} CreateContactList gave (UpdateContactList has none and leaves the list's as they are).
   */
  private static ContactList list(String name, JsonObject body, JsonArray tags) {
    ContactList.checkName(name);
    List<Topic> topics = new ArrayList<>();
    for (JsonObject t : objects(body, "Topics", "")) {
      topics.add(Topic.fromJson(t, "Topics"));
    }
    return new ContactList(name, string(body, "Description", ""), topics, tags, null, null);
  }

  /**
   * SES's Contact shape (ListContacts; GetContact adds to it): explicit preferences, then the defaults of the rest. No
   * AttributesData: SES's Contact has none (GetContact's answer only), and a page of contacts with theirs could be
   * hundreds of megabytes.
   */
  private static JsonObject contactJson(Contact c, ContactList list) {
    JsonArray explicit = new JsonArray();
    JsonArray defaults = new JsonArray();
    for (Topic t : list.topics()) {
      SubscriptionStatus chosen = c.preferences().get(t.name());
      if (chosen != null) {
        explicit.add(preference(t.name(), chosen));
      } else {
        defaults.add(preference(t.name(), t.defaultStatus()));
      }
    }
    JsonObject out = new JsonObject().put("EmailAddress", c.address()).put("TopicPreferences", explicit)
        .put("TopicDefaultPreferences", defaults).put("UnsubscribeAll", c.unsubscribeAll());
    return out.put("LastUpdatedTimestamp", epoch(c.updatedAt()));
  }

  /** GetContact's answer: the Contact shape and the contact's AttributesData, when it has any. */
  private static JsonObject withAttributes(JsonObject contact, Contact c) {
    return c.attributesData() == null ? contact : contact.put("AttributesData", c.attributesData());
  }

  private static JsonObject preference(String topic, SubscriptionStatus status) {
    return new JsonObject().put("TopicName", topic).put("SubscriptionStatus", status.name());
  }

  private static SesException contactNotFound(String address, String list) {
    return new SesException(SesError.NOT_FOUND, "Contact " + address + " does not exist in list " + list + ".");
  }

  private static double epoch(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }
}
