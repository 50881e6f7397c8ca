package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.store.ReceivedObjectStore.ListedKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The S3 API's pieces that need no node: ranges, paths, listing bounds and tokens. */
class S3UnitsTest {

  /** A listing cut short (too many queries) is truncated, and its token starts the next page where reading stopped. */
  @Test
  void aPageCutShortIsTruncatedWithAToken() {
    KeyListing listing = new KeyListing("", "/", 1000);
    String next = listing.accept(java.util.List.of(
        new io.mailgate.store.ReceivedObjectStore.ListedKey("a/1", 1, java.time.Instant.EPOCH),
        new io.mailgate.store.ReceivedObjectStore.ListedKey("a/2", 1, java.time.Instant.EPOCH)), 2);
    assertEquals("a0", next, "past every key under a/");
    assertEquals(false, listing.truncated());
    listing.cutShort(next);
    assertEquals(true, listing.truncated());
    assertEquals(1, listing.page().size());
    assertEquals("a0", KeyListing.fromToken(listing.nextToken()));
  }

  @Test
  void rangeHeadersAreReadAsRfc9110SaysOrIgnored() {
    assertEquals(Optional.of(new ByteRange(0, 9)), ByteRange.parse("bytes=0-9"));
    assertEquals(Optional.of(new ByteRange(5, Long.MAX_VALUE)), ByteRange.parse("bytes=5-"));
    assertEquals(Optional.of(new ByteRange(-20, Long.MAX_VALUE)), ByteRange.parse("bytes=-20"));
    assertEquals(Optional.of(new ByteRange(3, 3)), ByteRange.parse(" Bytes = 3 - 3 ".replace("Bytes = ", "bytes=")));
    for (String ignored : new String[] {null, "bytes=0-1,4-5", "items=0-1", "bytes=9-2", "bytes=-", "bytes=-0",
        "bytes=a-b", "bytes=1", "bytes=99999999999999999999-"}) {
      assertEquals(Optional.empty(), ByteRange.parse(ignored), ignored);
    }
    ByteRange tail = ByteRange.parse("bytes=-20").orElseThrow();
    assertEquals(0, tail.first(10), "a suffix longer than the object is all of it");
    assertEquals(9, tail.last(10));
    ByteRange past = ByteRange.parse("bytes=8-100").orElseThrow();
    assertEquals(9, past.last(10));
    assertTrue(past.satisfiable(10));
    assertFalse(ByteRange.parse("bytes=10-").orElseThrow().satisfiable(10));
    assertFalse(tail.satisfiable(0), "nothing of an empty object");
  }

  @Test
  void pathsNameTheServiceABucketOrAnObject() {
    assertEquals(new S3Api.Resource(null, null), S3Api.Resource.parse("/s3"));
    assertEquals(new S3Api.Resource(null, null), S3Api.Resource.parse("/s3/"));
    assertEquals(new S3Api.Resource("inbox", null), S3Api.Resource.parse("/s3/inbox"));
    assertEquals(new S3Api.Resource("inbox", null), S3Api.Resource.parse("/s3/inbox/"));
    assertEquals(new S3Api.Resource("inbox", "a b/Zoë/%41//x"),
        S3Api.Resource.parse("/s3/inbox/a%20b/Zo%C3%AB/%2541//x"));
    assertEquals("OBJECT", S3Api.Resource.parse("/s3/inbox/k").type());

    for (String bad : new String[] {"/%73%33/inbox/k", "/x/../s3/inbox/k", "/s3/inbox/%zz", "/s3/inbox/%4", "/s3/inbox/%C3", "/s3/inbox/a%00b"}) {
      S3Exception e = assertThrows(S3Exception.class, () -> S3Api.Resource.parse(bad), bad);
      assertEquals(S3Error.INVALID_URI, e.error(), bad);
    }
    assertEquals(S3Error.INVALID_BUCKET_NAME,
        assertThrows(S3Exception.class, () -> S3Api.Resource.parse("//s3//key".substring(1))).error());
    String longest = "k".repeat(S3Api.MAX_KEY_BYTES);
    assertEquals(longest, S3Api.Resource.parse("/s3/b/" + longest).key());
    assertEquals(S3Error.KEY_TOO_LONG,
        assertThrows(S3Exception.class, () -> S3Api.Resource.parse("/s3/b/" + "%C3%A9".repeat(513))).error());
  }

  @Test
  void theBoundAfterAPrefixIsTheLeastStringAboveAllThatStartWithIt() {
    assertEquals("b", KeyListing.after("a"));
    assertEquals("2025/0", KeyListing.after("2025//"));
    assertEquals("a\uE000", KeyListing.after("a\uD7FF"), "no code point is a surrogate");
    assertEquals("a\uD83D\uDE43", KeyListing.after("a\uD83D\uDE42"), "U+1F642 is followed by U+1F643");
    assertEquals("b", KeyListing.after("a\uDBFF\uDFFF"), "past U+10FFFF, the previous code point carries");
    assertNull(KeyListing.after("\uDBFF\uDFFF"));
    assertNull(KeyListing.after(""));
  }

  @Test
  void continuationTokensRoundTripAndForeignOnesAreRefused() {
    String from = KeyListing.startingAfter("in/Zoë 🙂");
    assertEquals(from, KeyListing.fromToken(KeyListing.token(from)));
    assertNull(KeyListing.fromToken("not a token!"));
    assertNull(KeyListing.fromToken("_w"), "bytes that are not UTF-8");
    assertNull(KeyListing.fromToken(KeyListing.token("a\u0000b")), "a NUL no key holds");
  }

  @Test
  void aPageEndsAtMaxKeysAndCountsACommonPrefixOnce() {
    Instant t = Instant.EPOCH;
    KeyListing listing = new KeyListing("", "/", 2);
    assertEquals(3, listing.wanted());
    String next = listing.accept(List.of(new ListedKey("a/1", 1, t), new ListedKey("a/2", 1, t),
        new ListedKey("a/3", 1, t)), 3);
    assertEquals("a0", next, "a full batch inside a prefix goes on past the prefix ('/' + 1 is '0')");
    assertEquals(2, listing.wanted());
    assertNull(listing.accept(List.of(new ListedKey("b", 1, t), new ListedKey("c/1", 1, t)), 2));
    assertTrue(listing.truncated());
    assertEquals(List.of("a/", "b"), listing.page().stream().map(KeyListing.Entry::key).toList());
    assertEquals("b\u0001", KeyListing.fromToken(listing.nextToken()));

    KeyListing all = new KeyListing("", null, 5);
    assertNull(all.accept(List.of(new ListedKey("x", 1, t)), 6), "a short batch is the end");
    assertFalse(all.truncated());
    assertNull(all.nextToken());
  }

  @Test
  void listedNamesAreUrlEncodedAsS3DoesForEncodingTypeUrl() {
    assertEquals("a/b%20c%2Bd%26e%3D%C3%A9~%09", S3Xml.urlEncode("a/b c+d&e=é~\t"));
  }

  /**
   * What a write's headers give its object: the headers S3 keeps, names of user metadata lower-cased and a name sent
   * twice joined, aws-chunked (the upload's encoding) dropped, control characters refused, 2 KB of user metadata.
   */
  @Test
  void objectMetadataIsReadFromAWritesHeaders() {
    io.vertx.core.MultiMap headers = io.vertx.core.MultiMap.caseInsensitiveMultiMap()
        .add("content-type", "image/png").add("Content-Encoding", "aws-chunked").add("X-Amz-Meta-Camera", "front")
        .add("x-amz-meta-camera", "back").add("x-amz-meta-", "no name").add("Content-Length", "10")
        .add("x-amz-content-sha256", "UNSIGNED-PAYLOAD").add("Cache-Control", "no-cache");
    assertEquals(new io.vertx.core.json.JsonObject().put("Content-Type", "image/png")
        .put("Cache-Control", "no-cache").put("x-amz-meta-camera", "front,back"), ObjectMetadata.of(headers));
    assertNull(ObjectMetadata.of(io.vertx.core.MultiMap.caseInsensitiveMultiMap().add("Content-Length", "1")));
    assertEquals("gzip", ObjectMetadata.withoutAwsChunked("aws-chunked,gzip"));
    assertEquals("gzip,br", ObjectMetadata.withoutAwsChunked("gzip, AWS-CHUNKED ,br"));
    assertNull(ObjectMetadata.withoutAwsChunked("aws-chunked"));

    S3Exception control = assertThrows(S3Exception.class, () -> ObjectMetadata.of(
        io.vertx.core.MultiMap.caseInsensitiveMultiMap().add("x-amz-meta-a", "line\u0001")));
    assertEquals(S3Error.INVALID_ARGUMENT, control.error());
    assertThrows(S3Exception.class, () -> ObjectMetadata.of(io.vertx.core.MultiMap.caseInsensitiveMultiMap()
        .add("Content-Disposition", "attachment;\u007f")));
    // 2,048 bytes of names (without the prefix) and values, the most
    io.vertx.core.MultiMap most = io.vertx.core.MultiMap.caseInsensitiveMultiMap()
        .add("x-amz-meta-ab", "v".repeat(1000)).add("x-amz-meta-cd", "w".repeat(1044));
    assertEquals(2, ObjectMetadata.of(most).size());
    S3Exception large = assertThrows(S3Exception.class, () -> ObjectMetadata.of(most.add("x-amz-meta-e", "")));
    assertEquals(S3Error.METADATA_TOO_LARGE, large.error());
    assertTrue(large.details().contains(java.util.Map.entry("Size", "2049")), large.details().toString());
  }

  /** CORS rules: one wildcard anywhere, origins exact, headers in any case, the first rule that allows it applied. */
  @Test
  void corsRulesMatchAsS3MatchesThem() {
    assertTrue(Cors.matches("https://*.example.com", "https://a.b.example.com"));
    assertTrue(Cors.matches("*", ""));
    assertTrue(Cors.matches("x-amz-*", "x-amz-date"));
    assertFalse(Cors.matches("https://*.example.com", "https://example.com"));
    assertFalse(Cors.matches("ab*ba", "aba"), "the head and the tail do not overlap");
    io.vertx.core.json.JsonArray rules = Cors.ofDocument(("<CORSConfiguration xmlns=\"" + S3Xml.NAMESPACE + "\">"
        + "<CORSRule><ID>one</ID><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>"
        + "<AllowedHeader>Content-*</AllowedHeader><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>"
        + "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        + "<ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>").getBytes(StandardCharsets.UTF_8));
    assertEquals(rules, Cors.ofDocument(Cors.document(rules).getBytes(StandardCharsets.UTF_8)), "written back as read");
    List<io.vertx.core.json.JsonArray> configurations = List.of(rules);
    Cors.Allowed put = Cors.allowed(configurations, "https://a.example.com", "PUT", List.of("content-type"));
    assertEquals("one", put.rule().id());
    assertEquals("https://a.example.com", put.origin());
    assertNull(Cors.allowed(configurations, "https://a.example.com", "PUT", List.of("x-amz-date")));
    assertEquals("*", Cors.allowed(configurations, "https://a.example.com", "GET", List.of()).origin());
    assertNull(Cors.allowed(configurations, "https://a.example.com", "DELETE", List.of()));
    assertEquals(List.of("content-type", "x-amz-date"), Cors.requestedHeaders(" Content-Type,, X-Amz-Date "));
  }
}
