package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3MultipartTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.Tag;
import software.amazon.awssdk.services.s3.model.TaggingDirective;

/**
 * Object tagging through the AWS SDK: tags given with a PutObject, a multipart upload or a copy, read and set on their
 * own (GetObjectTagging, PutObjectTagging, DeleteObjectTagging: the object's content and time untouched), counted on
 * GetObject's answer; S3's limits on them, and what is refused changes nothing.
 */
class S3TaggingTest extends S3NodeTest {
  static Map<String, String> tags(String key) {
    Map<String, String> tags = new TreeMap<>();
    s3.getObjectTagging(r -> r.bucket("tagged").key(key)).tagSet().forEach(t -> tags.put(t.key(), t.value()));
    return tags;
  }

  static Tag tag(String key, String value) {
    return Tag.builder().key(key).value(value).build();
  }

  static String stored(String key) {
    return Db.string(pg, "SELECT coalesce(tags::text, 'none') FROM received_objects WHERE object_key = '" + key + "'");
  }

  @Test
  void tagsGoWithAWriteAndAreSetOnTheirOwn() {
    s3.putObject(r -> r.bucket("tagged").key("report.csv").tagging("team=billing&cost center=42/a+b"),
        RequestBody.fromString("a,b"));
    assertEquals(Map.of("team", "billing", "cost center", "42/a b"), tags("report.csv"));
    assertEquals(2, s3.getObjectAsBytes(r -> r.bucket("tagged").key("report.csv")).response().tagCount());
    HeadObjectResponse before = s3.headObject(r -> r.bucket("tagged").key("report.csv"));

    // set on their own: the object's content, ETag and time as they were
    s3.putObjectTagging(r -> r.bucket("tagged").key("report.csv").tagging(t -> t.tagSet(tag("team", "ops"),
        tag("reviewed", ""))));
    assertEquals(Map.of("team", "ops", "reviewed", ""), tags("report.csv"));
    HeadObjectResponse after = s3.headObject(r -> r.bucket("tagged").key("report.csv"));
    assertEquals(List.of(before.eTag(), before.lastModified()), List.of(after.eTag(), after.lastModified()));
    s3.deleteObjectTagging(r -> r.bucket("tagged").key("report.csv"));
    assertEquals(Map.of(), tags("report.csv"));
    assertNull(s3.getObjectAsBytes(r -> r.bucket("tagged").key("report.csv")).response().tagCount());
    assertEquals("a,b", s3.getObjectAsBytes(r -> r.bucket("tagged").key("report.csv")).asUtf8String());

    // a write replaces them with its own, or none
    s3.putObjectTagging(r -> r.bucket("tagged").key("report.csv").tagging(t -> t.tagSet(tag("k", "v"))));
    s3.putObject(r -> r.bucket("tagged").key("report.csv"), RequestBody.fromString("new"));
    assertEquals(Map.of(), tags("report.csv"));

    // of an object or a bucket that is not there
    refused(404, "NoSuchKey", () -> s3.getObjectTagging(r -> r.bucket("tagged").key("none")));
    refused(404, "NoSuchKey", () -> s3.putObjectTagging(r -> r.bucket("tagged").key("none").tagging(t -> t
        .tagSet(tag("k", "v")))));
    refused(404, "NoSuchKey", () -> s3.deleteObjectTagging(r -> r.bucket("tagged").key("none")));
    org.junit.jupiter.api.Assertions.assertThrows(NoSuchBucketException.class, () -> s3.getObjectTagging(r -> r
        .bucket("no-such-tagged").key("k")));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'none'"));
  }

  @Test
  void aCopyKeepsItsSourcesTagsOrTakesTheRequestsAndAnUploadItsOwn() {
    s3.putObject(r -> r.bucket("tagged").key("src").tagging("a=1&b=2"), RequestBody.fromString("x"));
    s3.copyObject(r -> r.sourceBucket("tagged").sourceKey("src").destinationBucket("tagged").destinationKey("kept")
        .tagging("ignored=yes"));
    assertEquals(Map.of("a", "1", "b", "2"), tags("kept"));
    s3.copyObject(r -> r.sourceBucket("tagged").sourceKey("src").destinationBucket("tagged").destinationKey("new")
        .taggingDirective(TaggingDirective.REPLACE).tagging("c=3"));
    assertEquals(Map.of("c", "3"), tags("new"));
    s3.copyObject(r -> r.sourceBucket("tagged").sourceKey("src").destinationBucket("tagged").destinationKey("none")
        .taggingDirective(TaggingDirective.REPLACE));
    assertEquals(Map.of(), tags("none"));

    String upload = s3.createMultipartUpload(r -> r.bucket("tagged").key("big").tagging("kind=archive")).uploadId();
    String etag = s3.uploadPart(r -> r.bucket("tagged").key("big").uploadId(upload).partNumber(1),
        RequestBody.fromString("only part")).eTag();
    s3.completeMultipartUpload(r -> r.bucket("tagged").key("big").uploadId(upload).multipartUpload(m -> m.parts(
        CompletedPart.builder().partNumber(1).eTag(etag).build())));
    assertEquals(Map.of("kind", "archive"), tags("big"));
  }

  @Test
  void tagsPastS3sLimitsAreRefusedAndNothingChanges() throws Exception {
    s3.putObject(r -> r.bucket("tagged").key("t").tagging("k=v"), RequestBody.fromString("x"));
    List<Tag> eleven = new ArrayList<>();
    StringBuilder header = new StringBuilder();
    for (int i = 0; i < 11; i++) {
      eleven.add(tag("k" + i, "v"));
      header.append(i == 0 ? "" : "&").append("k").append(i).append("=v");
    }
    refused(400, "InvalidTag", () -> s3.putObjectTagging(r -> r.bucket("tagged").key("t").tagging(t -> t
        .tagSet(eleven))));
    refused(400, "InvalidTag", () -> s3.putObjectTagging(r -> r.bucket("tagged").key("t").tagging(t -> t
        .tagSet(tag("aws:reserved", "v")))));
    refused(400, "InvalidTag", () -> s3.putObjectTagging(r -> r.bucket("tagged").key("t").tagging(t -> t
        .tagSet(tag("k".repeat(ObjectTags.MAX_KEY + 1), "v")))));
    refused(400, "InvalidTag", () -> s3.putObjectTagging(r -> r.bucket("tagged").key("t").tagging(t -> t
        .tagSet(tag("k", "<script>")))));
    refused(400, "InvalidTag", () -> s3.putObjectTagging(r -> r.bucket("tagged").key("t").tagging(t -> t
        .tagSet(tag("same", "1"), tag("same", "2")))));
    assertEquals("{\"k\": \"v\"}", stored("t"), "refused, they stay");
    refused(400, "InvalidTag", () -> s3.putObject(r -> r.bucket("tagged").key("u").tagging(header.toString()),
        RequestBody.fromString("x")));
    refused(400, "InvalidTag", () -> s3.createMultipartUpload(r -> r.bucket("tagged").key("u")
        .tagging("dup=1&dup=2")));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'u'"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM multipart_uploads WHERE object_key = 'u'"));

    // a document without its digest, or not S3's
    String valid = "<Tagging><TagSet><Tag><Key>k</Key><Value>w</Value></Tag></TagSet></Tagging>";
    S3MultipartTest.Answer bare = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "tagged/t?tagging",
        valid.getBytes(StandardCharsets.UTF_8), b -> b);
    assertEquals(400, bare.status(), bare.body());
    assertTrue(bare.body().contains("<Code>InvalidRequest</Code>"), bare.body());
    for (String document : new String[] {"<Tagging/>", "<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Other/></TagSet></Tagging>", "<Tagging><TagSet/><Extra/></Tagging>", "not xml"}) {
      S3MultipartTest.Answer answer = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "tagged/t?tagging",
          document.getBytes(StandardCharsets.UTF_8), b -> b, Map.of("Content-MD5", md5(document)));
      assertEquals(400, answer.status(), document + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>MalformedXML</Code>"), answer.body());
    }
    assertEquals("{\"k\": \"v\"}", stored("t"));
    S3MultipartTest.Answer served = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "tagged/t?tagging",
        valid.getBytes(StandardCharsets.UTF_8), b -> b, Map.of("Content-MD5", md5(valid)));
    assertEquals(200, served.status(), served.body());
    assertEquals(Map.of("k", "w"), tags("t"));
    org.junit.jupiter.api.Assertions.assertThrows(NoSuchKeyException.class, () -> s3.getObjectTagging(r -> r
        .bucket("tagged").key("u")));
  }

  static String md5(String s) throws Exception {
    return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5")
        .digest(s.getBytes(StandardCharsets.UTF_8)));
  }
}
