package io.mailgate.lists;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.send.HeaderBlock;
import io.mailgate.send.MessageHeader;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SimpleContent;
import io.mailgate.send.TextBody;
import io.vertx.core.Future;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a message sent with ListManagementOptions carries, as SES adds it: RFC 8058 one-click unsubscribe headers
 * ({@code List-Unsubscribe: <url>} and {@code List-Unsubscribe-Post: List-Unsubscribe=One-Click}, which Gmail and
 * Yahoo require of bulk senders), and the same URL in place of {@code {{amazonSESUnsubscribeUrl}}} in its text and
 * HTML. The URL is on the node's public base ({@code http.publicUrl}) and carries an {@link UnsubscribeTokens} token.
 * Headers of the same names that the caller gave are replaced, so a message never has two. Lists are cached per
 * verticle instance for {@code cache.ttlMillis}, as configuration sets are: a newsletter sent one message per
 * recipient reads its list once, and a list or topic created or deleted reaches every send within that.
 */
public final class UnsubscribeLinks {
  /** SES's placeholder for the unsubscribe URL in a message's text and HTML. */
  public static final String PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}";
  /** Where the unsubscribe endpoint is, under the node's public base (next to the tracking links' /t/o and /t/c). */
  public static final String PATH = "/t/u/";
  static final String HEADER = "List-Unsubscribe";
  static final String POST_HEADER = "List-Unsubscribe-Post";
  static final String ONE_CLICK = "List-Unsubscribe=One-Click";

  private final UnsubscribeTokens tokens;
  private final String base;
  private final io.mailgate.store.ReadThroughCache<ContactList> lists;

  /** @param base the node's public URL, without a trailing slash */
  public UnsubscribeLinks(ContactListStore store, UnsubscribeTokens tokens, String base, java.time.Clock clock,
      long ttlMillis) {
    this.tokens = tokens;
    this.base = base;
    this.lists = new io.mailgate.store.ReadThroughCache<>(clock, ttlMillis, store::find);
  }

  /** The list and topic a send names must exist, as in SES: NotFound otherwise (and nothing is sent). */
  public Future<Void> check(String accountId, SendRequest.ListManagement options) {
    return lists.get(accountId, options.contactList()).compose(found -> {
      if (found.isEmpty()) {
        return Future.failedFuture(ContactListStore.listNotFound(options.contactList()));
      }
      if (options.topic() != null && found.get().topic(options.topic()).isEmpty()) {
        return Future.failedFuture(new SesException(SesError.NOT_FOUND, "Topic " + options.topic()
            + " does not exist in contact list " + options.contactList() + "."));
      }
      return Future.succeededFuture();
    });
  }

  /** The unsubscribe URL for {@code address} on the account's list (and topic), in message {@code messageId}. */
  public String url(String accountId, SendRequest.ListManagement options, String address, String messageId) {
    return base + PATH + tokens.token(new UnsubscribeTokens.Token(accountId, options.contactList(), address,
        options.topic(), messageId));
  }

  /** A Simple message with the headers (the caller's of the same names replaced) and the placeholder filled in. */
  public static SimpleContent apply(SimpleContent c, String url) {
    List<MessageHeader> headers = new ArrayList<>(c.headers().size() + 2);
    for (MessageHeader h : c.headers()) {
      if (!h.name().equalsIgnoreCase(HEADER) && !h.name().equalsIgnoreCase(POST_HEADER)) {
        headers.add(h);
      }
    }
    headers.add(new MessageHeader(HEADER, "<" + url + ">"));
    headers.add(new MessageHeader(POST_HEADER, ONE_CLICK));
    return new SimpleContent(c.subject(), c.subjectCharset(), filled(c.text(), url), filled(c.html(), url), headers,
        c.attachments());
  }

  /**
   * A raw message (CRLF, as the send path has prepared it) with the headers at its top, the caller's of the same names
   * removed. Its body is left as given: the placeholder is filled in Simple and Template content only.
   */
  public static byte[] applyRaw(byte[] message, String url) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(message.length + url.length() + 100);
    out.writeBytes((HEADER + ": <" + url + ">\r\n" + POST_HEADER + ": " + ONE_CLICK + "\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    int copied = 0;
    for (HeaderBlock.Field f : HeaderBlock.parse(message).fields()) {
      if (f.is(HEADER) || f.is(POST_HEADER)) {
        out.write(message, copied, f.start() - copied);
        copied = f.end();
      }
    }
    out.write(message, copied, message.length - copied);
    return out.toByteArray();
  }

  private static TextBody filled(TextBody b, String url) {
    return b == null || !b.data().contains(PLACEHOLDER) ? b : new TextBody(b.data().replace(PLACEHOLDER, url), b.charset());
  }
}
