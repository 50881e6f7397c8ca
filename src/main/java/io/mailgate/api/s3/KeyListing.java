package io.mailgate.api.s3;

import io.mailgate.store.ReceivedObjectStore;
import io.mailgate.store.ReceivedObjectStore.ListedKey;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Builds one page of ListObjectsV2 (or ListObjects) from keys read in S3's order (UTF-8 bytes) in batches: objects,
 * and with a delimiter the common prefixes that stand for every key sharing them, {@code maxKeys} of them together at
 * most.
 *
 * <p>Where to read from is a lower bound, inclusive, on the key. After key {@code k} it is {@code k + U+0001}, the
 * least key above {@code k} (PostgreSQL text cannot hold U+0000); after a common prefix it is {@link #after} the
 * prefix, the least key above all that start with it. A batch that ends inside a common prefix makes the next one
 * start past it, so a prefix with a million keys costs one more query, not a million rows. The continuation token is
 * that bound, base64url-encoded.
 */
final class KeyListing {

  /** An object or (when {@code prefix}) a common prefix, in page order. */
  record Entry(String key, ListedKey object, boolean prefix) {}

  private final String prefix;
  private final String delimiter;
  private final int maxKeys;
  /** Up to one more than a page: the extra entry only says that the page is truncated. */
  private final List<Entry> entries = new ArrayList<>();
  private String lastPrefix;
  /** Where the next page starts when this one was cut short before it was full; null when it was not. */
  private String cutAt;
  /** The last key or common prefix read: after it is where the next batch starts ({@link #accept}'s bound). */
  private String lastRead;

  /**
   * @param prefix keys start with it ({@code ""} for all)
   * @param delimiter groups keys into common prefixes; null or empty for none
   */
  KeyListing(String prefix, String delimiter, int maxKeys) {
    this.prefix = prefix;
    this.delimiter = delimiter == null || delimiter.isEmpty() ? null : delimiter;
    this.maxKeys = maxKeys;
  }

  /** How many keys to read in the next batch. */
  int wanted() {
    return maxKeys + 1 - entries.size();
  }

  /**
   * Takes a batch of keys, in order, that was asked for with {@link #wanted()} as its limit.
   *
   * @return the bound to read the next batch from, or null when the page is complete
   */
  String accept(List<ListedKey> batch, int limit) {
    String last = null;
    for (ListedKey k : batch) {
      last = k.key();
      if (lastPrefix != null && last.startsWith(lastPrefix)) {
        continue;
      }
      int at = delimiter == null ? -1 : last.indexOf(delimiter, prefix.length());
      if (at >= 0) {
        lastPrefix = last.substring(0, at + delimiter.length());
        entries.add(new Entry(lastPrefix, null, true));
      } else {
        entries.add(new Entry(last, k, false));
      }
      if (entries.size() > maxKeys) {
        return null;
      }
    }
    if (batch.size() < limit) {
      return null;
    }
    boolean inPrefix = lastPrefix != null && last.startsWith(lastPrefix);
    lastRead = inPrefix ? lastPrefix : last;
    return inPrefix ? after(lastPrefix) : last + '\u0001';
  }

  /** The page's entries, at most {@code maxKeys}. */
  List<Entry> page() {
    return entries.size() > maxKeys ? entries.subList(0, maxKeys) : entries;
  }

  boolean truncated() {
    return entries.size() > maxKeys || cutAt != null;
  }

  /**
   * Ends the page before it is full, the next one to start at {@code from}: S3 too may answer fewer keys than asked
   * for, with a continuation token. Bounds what one request reads when common prefixes hold many keys each.
   */
  void cutShort(String from) {
    cutAt = from;
  }

  /** Where the next page starts, as a continuation token; null when the page is the last. Needs a maxKeys above 0. */
  String nextToken() {
    if (!truncated()) {
      return null;
    }
    if (entries.size() <= maxKeys) {
      return token(cutAt);
    }
    Entry last = entries.get(maxKeys - 1);
    return token(last.prefix() ? after(last.key()) : last.key() + '\u0001');
  }

  /**
   * Where the next page starts, as ListObjects (v1) names it: the last key or common prefix of this page (or, cut
   * short, the last one read), which the next request gives as its marker ({@link #afterMarker}); null when the page
   * is the last. Needs a maxKeys above 0.
   */
  String nextMarker() {
    if (!truncated()) {
      return null;
    }
    return entries.size() <= maxKeys ? lastRead : entries.get(maxKeys - 1).key();
  }

  /**
   * The first bound of a ListObjects (v1) page after {@code marker}: past the key, or, for a marker that is a common
   * prefix of this listing (it ends with the delimiter, found there first), past every key that starts with it, as a
   * page that ended on that prefix left them.
   */
  static String afterMarker(String marker, String prefix, String delimiter) {
    if (delimiter != null && !delimiter.isEmpty() && marker.startsWith(prefix) && marker.endsWith(delimiter)
        && marker.indexOf(delimiter, prefix.length()) == marker.length() - delimiter.length()) {
      String after = after(marker);
      return after == null ? marker + '\u0001' : after;
    }
    return startingAfter(marker);
  }

  /** The first bound of a listing that starts after {@code startAfter}. */
  static String startingAfter(String startAfter) {
    return startAfter + '\u0001';
  }

  static String token(String from) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(from.getBytes(StandardCharsets.UTF_8));
  }

  /** The bound a continuation token stands for; null when it is not one of ours. */
  static String fromToken(String token) {
    try {
      byte[] bytes = Base64.getUrlDecoder().decode(token);
      String from = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      return from.indexOf('\u0000') >= 0 ? null : from;
    } catch (IllegalArgumentException | CharacterCodingException e) {
      return null;
    }
  }

  /** See {@link ReceivedObjectStore#after}. */
  static String after(String s) {
    return ReceivedObjectStore.after(s);
  }

}
