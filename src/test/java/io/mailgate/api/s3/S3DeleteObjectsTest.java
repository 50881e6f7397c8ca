package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3MultipartTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.DeletedObject;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;

/**
 * DeleteObjects through the AWS SDK (what {@code aws s3 rm --recursive}, boto3's {@code bucket.objects.delete()} and
 * the SDKs' batch deletes send): up to 1,000 keys in one request and one statement, each reported deleted (or not
 * there) or not with why; ETag conditions per key; a document that is not S3's, or one without its Content-MD5 or
 * checksum, deletes nothing.
 */
class S3DeleteObjectsTest extends S3NodeTest {
  static void put(String key) {
    s3.putObject(r -> r.bucket("batch").key(key), RequestBody.fromString("content of " + key));
  }

  static List<String> keys() {
    String keys = Db.string(pg, "SELECT coalesce(string_agg(object_key, ',' ORDER BY object_key COLLATE \"C\"), '') "
        + "FROM received_objects WHERE bucket = 'batch'");
    return keys.isEmpty() ? List.of() : List.of(keys.split(","));
  }

  static ObjectIdentifier id(String key) {
    return ObjectIdentifier.builder().key(key).build();
  }

  @Test
  void keysAreDeletedInOneRequestAndEachIsReported() {
    for (String key : new String[] {"a", "b", "c", "keep", "sub/d e+f"}) {
      put(key);
    }
    DeleteObjectsResponse r = s3.deleteObjects(d -> d.bucket("batch").delete(x -> x.objects(id("a"), id("b"),
        id("sub/d e+f"), id("never-there"))));
    // one not there is reported deleted, as S3 reports it
    assertEquals(List.of("a", "b", "sub/d e+f", "never-there"), r.deleted().stream().map(DeletedObject::key).toList());
    assertEquals(List.of(), r.errors());
    assertEquals(List.of("c", "keep"), keys());

    // quiet: failures only
    DeleteObjectsResponse quiet = s3.deleteObjects(d -> d.bucket("batch").delete(x -> x.quiet(true)
        .objects(id("c"))));
    assertEquals(List.of(), quiet.deleted());
    assertEquals(List.of("keep"), keys());

    // 1,000 keys at once
    Db.execute(pg, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
        + "SELECT account_id, bucket, 'many/' || i, message_id, content, created_at FROM received_objects, "
        + "generate_series(0, 999) i WHERE object_key = 'keep'");
    List<ObjectIdentifier> many = new ArrayList<>();
    IntStream.range(0, 1000).forEach(i -> many.add(id("many/" + i)));
    assertEquals(1000, s3.deleteObjects(d -> d.bucket("batch").delete(x -> x.objects(many))).deleted().size());
    assertEquals(List.of("keep"), keys());
  }

  @Test
  void eachKeysConditionsAndLimitsAreItsOwn() {
    put("match");
    put("differs");
    String etag = s3.headObject(r -> r.bucket("batch").key("match")).eTag();
    DeleteObjectsResponse r = s3.deleteObjects(d -> d.bucket("batch").delete(x -> x.objects(
        ObjectIdentifier.builder().key("match").eTag(etag).build(),
        ObjectIdentifier.builder().key("differs").eTag("\"0123456789abcdef0123456789abcdef\"").build(),
        ObjectIdentifier.builder().key("absent").eTag(etag).build(),
        ObjectIdentifier.builder().key("k".repeat(S3Api.MAX_KEY_BYTES + 1)).build(),
        ObjectIdentifier.builder().key("differs").versionId("3HL4kqtJlcpXroDTDmJ").build(),
        ObjectIdentifier.builder().key("versionless").versionId("null").build())));
    assertEquals(List.of("match", "versionless"), r.deleted().stream().map(DeletedObject::key).toList());
    assertEquals(List.of("differs:PreconditionFailed", "absent:NoSuchKey",
        "k".repeat(S3Api.MAX_KEY_BYTES + 1) + ":KeyTooLongError", "differs:InvalidArgument"),
        r.errors().stream().map(e -> e.key() + ":" + e.code()).toList());
    assertTrue(r.errors().stream().allMatch(e -> e.message() != null && !e.message().isEmpty()));
    assertEquals(List.of("differs"), keys(), "refused, it stays");
  }

  @Test
  void requestsThatAreNotS3sDeleteNothing() throws Exception {
    put("stays");
    // more than 1,000 keys
    List<ObjectIdentifier> tooMany = new ArrayList<>();
    IntStream.range(0, 1001).forEach(i -> tooMany.add(id(i == 0 ? "stays" : "x" + i)));
    refused(400, "MalformedXML", () -> s3.deleteObjects(d -> d.bucket("batch").delete(x -> x.objects(tooMany))));
    refused(404, "NoSuchBucket", () -> s3.deleteObjects(d -> d.bucket("no-such-batch").delete(x -> x
        .objects(id("stays")))));

    String valid = "<Delete><Object><Key>stays</Key></Object></Delete>";
    // without a Content-MD5 or a checksum, as S3 refuses it
    S3MultipartTest.Answer bare = S3MultipartTest.signed(node, SdkHttpMethod.POST, "batch?delete",
        valid.getBytes(StandardCharsets.UTF_8), b -> b);
    assertEquals(400, bare.status(), bare.body());
    assertTrue(bare.body().contains("<Code>InvalidRequest</Code>") && bare.body().contains("Content-MD5"),
        bare.body());
    // a Content-MD5 that is not the document's
    S3MultipartTest.Answer wrong = post(valid, Map.of("Content-MD5", md5("<Delete/>")));
    assertEquals(400, wrong.status(), wrong.body());
    assertTrue(wrong.body().contains("<Code>BadDigest</Code>"), wrong.body());
    for (String document : new String[] {"not xml", "<Delete/>", "<Delete><Object/></Delete>",
        "<Delete><Object><Key></Key></Object></Delete>", "<Other><Object><Key>stays</Key></Object></Other>",
        "<Delete><Thing/></Delete>", "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            + "<Delete><Object><Key>&x;</Key></Object></Delete>"}) {
      S3MultipartTest.Answer answer = post(document, Map.of("Content-MD5", md5(document)));
      assertEquals(400, answer.status(), document + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>MalformedXML</Code>"), answer.body());
    }
    assertEquals(List.of("stays"), keys());
    // and as written, with its digest, it is served
    S3MultipartTest.Answer served = post(valid, Map.of("Content-MD5", md5(valid)));
    assertEquals(200, served.status(), served.body());
    assertTrue(served.body().contains("<Deleted><Key>stays</Key></Deleted>"), served.body());
    assertEquals(List.of(), keys());
  }

  @Test
  void anotherAccountsKeysAreNotItsToDelete() {
    put("mine");
    Accounts.NewKey other = node.createAccount("s3-delete-objects-other", true, 10, 1000);
    try (S3Client theirs = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      theirs.putObject(r -> r.bucket("batch").key("theirs"), RequestBody.fromString("x"));
      DeleteObjectsResponse r = theirs.deleteObjects(d -> d.bucket("batch").delete(x -> x.objects(id("mine"),
          id("theirs"))));
      assertEquals(2, r.deleted().size(), "in their namespace, 'mine' is not there");
    }
    assertEquals(List.of("mine"), keys());
  }

  static S3MultipartTest.Answer post(String document, Map<String, String> headers) throws Exception {
    return S3MultipartTest.signed(node, SdkHttpMethod.POST, "batch?delete", document.getBytes(StandardCharsets.UTF_8),
        b -> b, headers);
  }

  static String md5(String s) throws Exception {
    return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5")
        .digest(s.getBytes(StandardCharsets.UTF_8)));
  }
}
