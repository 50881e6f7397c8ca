package io.mailgate.lists;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.Contact;
import software.amazon.awssdk.services.sesv2.model.GetContactListResponse;
import software.amazon.awssdk.services.sesv2.model.GetContactResponse;
import software.amazon.awssdk.services.sesv2.model.LimitExceededException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.SubscriptionStatus;
import software.amazon.awssdk.services.sesv2.model.Topic;
import software.amazon.awssdk.services.sesv2.model.TopicPreference;

/**
 * SES v2 contact lists and contacts through the AWS SDK: create, read, update, delete, list with paging and filters,
 * and the errors SES answers (each bad request changing nothing).
 */
class ContactListsApiTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static Topic topic(String name, SubscriptionStatus status) {
    return Topic.builder().topicName(name).displayName(name + " news").description("About " + name)
        .defaultSubscriptionStatus(status).build();
  }

  static TopicPreference pref(String topic, SubscriptionStatus status) {
    return TopicPreference.builder().topicName(topic).subscriptionStatus(status).build();
  }

  /** A fresh account (SES allows one list per account), with the list {@code name} and two topics. */
  static SesV2Client accountWithList(String account, String name) {
    Accounts.NewKey key = node.createAccount(account, true, 100, 10_000);
    SesV2Client client = node.sesV2(key.accessKeyId(), key.secretAccessKey());
    client.createContactList(r -> r.contactListName(name).description("The newsletter")
        .topics(topic("sports", SubscriptionStatus.OPT_IN), topic("offers", SubscriptionStatus.OPT_OUT)));
    return client;
  }

  @Test
  void listsAreCreatedReadUpdatedListedAndDeletedWithTheirContacts() {
    try (SesV2Client c = accountWithList("crud", "news")) {
      GetContactListResponse got = c.getContactList(r -> r.contactListName("news"));
      assertEquals("news", got.contactListName());
      assertEquals("The newsletter", got.description());
      assertEquals(List.of(topic("sports", SubscriptionStatus.OPT_IN), topic("offers", SubscriptionStatus.OPT_OUT)),
          got.topics());
      assertNotNull(got.createdTimestamp());
      assertNotNull(got.lastUpdatedTimestamp());

      assertThrows(AlreadyExistsException.class, () -> c.createContactList(r -> r.contactListName("news")));
      LimitExceededException quota = assertThrows(LimitExceededException.class,
          () -> c.createContactList(r -> r.contactListName("second")));
      assertTrue(quota.getMessage().contains("at most 1 contact list"), quota.getMessage());
      assertEquals(List.of("news"), c.listContactLists(r -> r.pageSize(1)).contactLists().stream()
          .map(l -> l.contactListName()).toList());

      c.updateContactList(r -> r.contactListName("news").topics(topic("sports", SubscriptionStatus.OPT_OUT)));
      GetContactListResponse updated = c.getContactList(r -> r.contactListName("news"));
      assertEquals(List.of(topic("sports", SubscriptionStatus.OPT_OUT)), updated.topics());
      assertNull(updated.description(), "an update replaces the whole list, as in SES");

      c.createContact(r -> r.contactListName("news").emailAddress("Reader@Example.org")
          .topicPreferences(pref("sports", SubscriptionStatus.OPT_IN)).attributesData("{\r\n  \"name\": \"Ann\"\r\n}"));
      assertThrows(AlreadyExistsException.class, () -> c.createContact(r -> r.contactListName("news")
          .emailAddress("reader@example.ORG")), "addresses compare without regard to case");
      GetContactResponse contact = c.getContact(r -> r.contactListName("news").emailAddress("READER@example.org"));
      assertEquals("Reader@Example.org", contact.emailAddress());
      assertEquals("news", contact.contactListName());
      assertEquals(List.of(pref("sports", SubscriptionStatus.OPT_IN)), contact.topicPreferences());
      assertEquals(List.of(), contact.topicDefaultPreferences());
      assertFalse(contact.unsubscribeAll());
      assertEquals("{\r\n  \"name\": \"Ann\"\r\n}", contact.attributesData(), "pretty-printed JSON is kept");

      c.deleteContactList(r -> r.contactListName("news"));
      assertThrows(NotFoundException.class, () -> c.getContactList(r -> r.contactListName("news")));
      c.createContactList(r -> r.contactListName("news"));
      assertThrows(NotFoundException.class, () -> c.getContact(r -> r.contactListName("news")
          .emailAddress("reader@example.org")), "deleting the list deleted its contacts");
    }
  }

  /**
   * A contact's choice for a topic taken off the list is kept, hidden, and found again when the topic comes back: an
   * UpdateContact meanwhile (which can name only the topics the list has) does not take it back.
   */
  @Test
  void aChoiceForARemovedTopicOutlivesAnUpdate() {
    try (SesV2Client c = accountWithList("hidden-choice", "news")) {
      c.createContact(r -> r.contactListName("news").emailAddress("x@example.org")
          .topicPreferences(pref("sports", SubscriptionStatus.OPT_OUT), pref("offers", SubscriptionStatus.OPT_IN)));
      c.updateContactList(r -> r.contactListName("news").topics(topic("offers", SubscriptionStatus.OPT_OUT)));
      c.updateContact(r -> r.contactListName("news").emailAddress("x@example.org")
          .topicPreferences(pref("offers", SubscriptionStatus.OPT_OUT)));
      assertEquals(List.of(pref("offers", SubscriptionStatus.OPT_OUT)),
          c.getContact(r -> r.contactListName("news").emailAddress("x@example.org")).topicPreferences());
      c.updateContactList(r -> r.contactListName("news").topics(topic("sports", SubscriptionStatus.OPT_IN),
          topic("offers", SubscriptionStatus.OPT_OUT)));
      GetContactResponse back = c.getContact(r -> r.contactListName("news").emailAddress("x@example.org"));
      assertEquals(List.of(pref("sports", SubscriptionStatus.OPT_OUT), pref("offers", SubscriptionStatus.OPT_OUT)),
          back.topicPreferences(), "the opt-out of sports came back with the topic");
    }
  }

  /** Every member of UpdateContactList and UpdateContact is optional: a client may send no body at all. */
  @Test
  void updatesWithoutABodyAreTaken() {
    Accounts.NewKey key = node.createAccount("no-bodies", true, 100, 10_000);
    try (SesV2Client c = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      c.createContactList(r -> r.contactListName("plain"));
      c.createContact(r -> r.contactListName("plain").emailAddress("a@example.org").unsubscribeAll(true));
      java.net.http.HttpResponse<String> contact = node.signed("PUT",
          "/v2/email/contact-lists/plain/contacts/a%40example.org", null, java.util.Map.of(), key.accessKeyId(),
          key.secretAccessKey());
      assertEquals(200, contact.statusCode(), contact.body());
      java.net.http.HttpResponse<String> list = node.signed("PUT", "/v2/email/contact-lists/plain", null,
          java.util.Map.of(), key.accessKeyId(), key.secretAccessKey());
      assertEquals(200, list.statusCode(), list.body());
    }
  }

  @Test
  void contactsAreUpdatedDeletedAndListedWithFiltersAndPages() {
    try (SesV2Client c = accountWithList("contacts", "weekly")) {
      c.createContact(r -> r.contactListName("weekly").emailAddress("a@example.org"));
      c.createContact(r -> r.contactListName("weekly").emailAddress("b@example.org")
          .topicPreferences(pref("offers", SubscriptionStatus.OPT_IN)));
      c.createContact(r -> r.contactListName("weekly").emailAddress("c@example.org")
          .topicPreferences(pref("sports", SubscriptionStatus.OPT_OUT)));
      c.createContact(r -> r.contactListName("weekly").emailAddress("d@example.org").unsubscribeAll(true));

      GetContactResponse a = c.getContact(r -> r.contactListName("weekly").emailAddress("a@example.org"));
      assertEquals(List.of(), a.topicPreferences());
      assertEquals(List.of(pref("sports", SubscriptionStatus.OPT_IN), pref("offers", SubscriptionStatus.OPT_OUT)),
          a.topicDefaultPreferences());

      assertEquals(List.of("a@example.org", "b@example.org", "c@example.org", "d@example.org"), all(c, null));
      assertEquals(List.of("d@example.org"), all(c, f -> f.filteredStatus(SubscriptionStatus.OPT_OUT)));
      // explicit choices only, unless the defaults are asked for; UnsubscribeAll is out of every topic
      assertEquals(List.of("b@example.org"), all(c, f -> f.filteredStatus(SubscriptionStatus.OPT_IN)
          .topicFilter(t -> t.topicName("offers"))));
      assertEquals(List.of("a@example.org", "c@example.org", "d@example.org"), all(c, f -> f
          .filteredStatus(SubscriptionStatus.OPT_OUT).topicFilter(t -> t.topicName("offers")
              .useDefaultIfPreferenceUnavailable(true))));
      assertEquals(List.of("a@example.org", "b@example.org"), all(c, f -> f.filteredStatus(SubscriptionStatus.OPT_IN)
          .topicFilter(t -> t.topicName("sports").useDefaultIfPreferenceUnavailable(true))));
      assertThrows(BadRequestException.class, () -> all(c, f -> f.topicFilter(t -> t.topicName("nope"))));

      c.updateContact(r -> r.contactListName("weekly").emailAddress("A@EXAMPLE.ORG").unsubscribeAll(true));
      assertTrue(c.getContact(r -> r.contactListName("weekly").emailAddress("a@example.org")).unsubscribeAll());
      assertThrows(NotFoundException.class, () -> c.updateContact(r -> r.contactListName("weekly")
          .emailAddress("nobody@example.org")));
      c.deleteContact(r -> r.contactListName("weekly").emailAddress("b@example.org"));
      assertThrows(NotFoundException.class, () -> c.deleteContact(r -> r.contactListName("weekly")
          .emailAddress("b@example.org")));
      assertEquals(List.of("a@example.org", "c@example.org", "d@example.org"), all(c, null));
    }
  }

  /** Every contact of "weekly" through pages of one, with the filter. */
  static List<String> all(SesV2Client c,
      java.util.function.Consumer<software.amazon.awssdk.services.sesv2.model.ListContactsFilter.Builder> filter) {
    List<String> out = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      var page = c.listContacts(r -> {
        r.contactListName("weekly").pageSize(1).nextToken(t);
        if (filter != null) {
          r.filter(filter);
        }
      });
      page.contacts().stream().map(Contact::emailAddress).forEach(out::add);
      token = page.nextToken();
    } while (token != null);
    return out;
  }

  /** Earlier SES v2 models (and SDKs built from them) send ListContacts as a GET, paging in the query string. */
  @Test
  void listContactsAnswersTheGetOfEarlierSdksToo() {
    ses.createContactList(r -> r.contactListName("legacy"));
    ses.createContact(r -> r.contactListName("legacy").emailAddress("one@example.org"));
    ses.createContact(r -> r.contactListName("legacy").emailAddress("two@example.org"));
    var first = node.signed("GET", "/v2/email/contact-lists/legacy/contacts?PageSize=1", null, java.util.Map.of());
    assertEquals(200, first.statusCode(), first.body());
    io.vertx.core.json.JsonObject page = new io.vertx.core.json.JsonObject(first.body());
    assertEquals("one@example.org", page.getJsonArray("Contacts").getJsonObject(0).getString("EmailAddress"));
    var second = node.signed("GET", "/v2/email/contact-lists/legacy/contacts?PageSize=1&NextToken="
        + java.net.URLEncoder.encode(page.getString("NextToken"), java.nio.charset.StandardCharsets.UTF_8), null,
        java.util.Map.of());
    assertEquals("two@example.org", new io.vertx.core.json.JsonObject(second.body()).getJsonArray("Contacts")
        .getJsonObject(0).getString("EmailAddress"), second.body());
  }

  /**
   * SES's ListContacts Contact has no AttributesData (GetContact's answer has): a page of a thousand contacts of 64K
   * characters each would be built whole on the event loop. Not read from the database either.
   */
  @Test
  void listContactsLeavesAttributesDataToGetContact() throws Exception {
    Accounts.NewKey key = node.createAccount("attributes", true, 100, 10_000);
    try (SesV2Client c = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      c.createContactList(r -> r.contactListName("attrs"));
      c.createContact(r -> r.contactListName("attrs").emailAddress("with@example.org")
          .attributesData("{\"name\": \"" + "A".repeat(60_000) + "\"}"));
      c.createContact(r -> r.contactListName("attrs").emailAddress("without@example.org"));
      for (HttpResponse<String> listed : List.of(
          node.signed("POST", "/v2/email/contact-lists/attrs/contacts/list", "{}",
              Map.of("content-type", "application/json"), key.accessKeyId(), key.secretAccessKey()),
          node.signed("GET", "/v2/email/contact-lists/attrs/contacts", null, Map.of(), key.accessKeyId(),
              key.secretAccessKey()))) {
        assertEquals(200, listed.statusCode(), listed.body());
        io.vertx.core.json.JsonArray contacts = new io.vertx.core.json.JsonObject(listed.body()).getJsonArray("Contacts");
        assertEquals(2, contacts.size(), listed.body());
        for (int i = 0; i < contacts.size(); i++) {
          assertEquals(java.util.Set.of("EmailAddress", "TopicPreferences", "TopicDefaultPreferences", "UnsubscribeAll",
              "LastUpdatedTimestamp"), contacts.getJsonObject(i).fieldNames(), "SES's Contact shape");
        }
      }
      assertEquals(60_012, c.getContact(r -> r.contactListName("attrs").emailAddress("with@example.org"))
          .attributesData().length(), "GetContact answers them");

      io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
      try {
        ContactListStore store = new ContactListStore(io.mailgate.store.Database.pool(vertx, node.config(), 1));
        List<io.mailgate.lists.Contact> page = store.contacts(key.accountId(), "attrs",
            new ContactListStore.Filter(null, null, false), null, 10).toCompletionStage().toCompletableFuture()
            .get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(List.of("with@example.org", "without@example.org"),
            page.stream().map(io.mailgate.lists.Contact::address).toList());
        assertEquals(List.of("none", "none"), page.stream().map(x -> x.attributesData() == null ? "none"
            : x.attributesData().length() + " characters").toList(), "not read for a page");
      } finally {
        vertx.close();
      }
    }
  }

  @Test
  void badRequestsAreRefusedAndChangeNothing() {
    try (SesV2Client c = accountWithList("errors", "list")) {
      c.createContact(r -> r.contactListName("list").emailAddress("kept@example.org"));
      GetContactListResponse before = c.getContactList(r -> r.contactListName("list"));
      List<Topic> many = new ArrayList<>();
      for (int i = 0; i < 21; i++) {
        many.add(topic("t" + i, SubscriptionStatus.OPT_IN));
      }
      assertThrows(BadRequestException.class, () -> c.updateContactList(r -> r.contactListName("list").topics(many)));
      assertThrows(BadRequestException.class, () -> c.updateContactList(r -> r.contactListName("list")
          .description("line\r\nBcc: x@example.org")));
      assertThrows(BadRequestException.class, () -> c.updateContactList(r -> r.contactListName("list")
          .topics(topic("bad name", SubscriptionStatus.OPT_IN))));
      assertThrows(BadRequestException.class, () -> c.updateContactList(r -> r.contactListName("list")
          .topics(topic("dup", SubscriptionStatus.OPT_IN), topic("dup", SubscriptionStatus.OPT_OUT))));
      assertThrows(BadRequestException.class, () -> c.updateContactList(r -> r.contactListName("list")
          .topics(Topic.builder().topicName("x").displayName("X").defaultSubscriptionStatus("MAYBE").build())));
      assertEquals(before.topics(), c.getContactList(r -> r.contactListName("list")).topics());
      assertEquals(before.description(), c.getContactList(r -> r.contactListName("list")).description());

      assertThrows(BadRequestException.class, () -> c.createContact(r -> r.contactListName("list")
          .emailAddress("not an address")));
      assertThrows(BadRequestException.class, () -> c.createContact(r -> r.contactListName("list")
          .emailAddress("a".repeat(250) + "@example.org")));
      assertThrows(BadRequestException.class, () -> c.createContact(r -> r.contactListName("list")
          .emailAddress("x@example.org\r\nBcc: y@example.org")));
      assertThrows(BadRequestException.class, () -> c.createContact(r -> r.contactListName("list")
          .emailAddress("new@example.org").topicPreferences(pref("unknown", SubscriptionStatus.OPT_IN))));
      assertThrows(BadRequestException.class, () -> c.createContact(r -> r.contactListName("list")
          .emailAddress("new@example.org").topicPreferences(TopicPreference.builder().topicName("sports")
              .subscriptionStatus("YES").build())));
      assertThrows(BadRequestException.class, () -> c.updateContact(r -> r.contactListName("list")
          .emailAddress("kept@example.org").topicPreferences(pref("unknown", SubscriptionStatus.OPT_IN))));
      assertThrows(NotFoundException.class, () -> c.createContact(r -> r.contactListName("none")
          .emailAddress("new@example.org")));
      assertThrows(NotFoundException.class, () -> c.getContact(r -> r.contactListName("list")
          .emailAddress("new@example.org")), "no refused contact was created");
      GetContactResponse kept = c.getContact(r -> r.contactListName("list").emailAddress("kept@example.org"));
      assertEquals(List.of(), kept.topicPreferences());

      HttpResponse<String> malformed = node.signed("POST", "/v2/email/contact-lists/list/contacts", "{\"EmailAddress\":",
          Map.of("content-type", "application/json"));
      assertEquals(400, malformed.statusCode());
      assertEquals("BadRequestException", malformed.headers().firstValue("x-amzn-ErrorType").orElse(null));
      assertThrows(BadRequestException.class, () -> c.createContactList(r -> r.contactListName("bad/name")));
    }
  }

  @Test
  void anotherAccountDoesNotSeeTheList() {
    try (SesV2Client c = accountWithList("owner", "private")) {
      assertThrows(NotFoundException.class, () -> ses.getContactList(r -> r.contactListName("private")));
      assertThrows(NotFoundException.class, () -> ses.createContact(r -> r.contactListName("private")
          .emailAddress("x@example.org")));
      assertEquals(List.of(), ses.listContactLists(r -> { }).contactLists().stream()
          .map(l -> l.contactListName()).collect(Collectors.toList()).stream().filter("private"::equals).toList());
    }
  }
}
