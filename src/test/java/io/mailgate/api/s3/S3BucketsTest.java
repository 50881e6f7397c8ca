package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.Bucket;
import software.amazon.awssdk.services.s3.model.BucketCannedACL;
import software.amazon.awssdk.services.s3.model.BucketLocationConstraint;
import software.amazon.awssdk.services.s3.model.GetBucketAclResponse;
import software.amazon.awssdk.services.s3.model.GetObjectAclResponse;
import software.amazon.awssdk.services.s3.model.Grant;
import software.amazon.awssdk.services.s3.model.ListBucketsResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.ObjectCannedACL;
import software.amazon.awssdk.services.s3.model.ObjectOwnership;
import software.amazon.awssdk.services.s3.model.Payer;
import software.amazon.awssdk.services.s3.model.Permission;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.Type;

/**
 * CreateBucket and DeleteBucket through the AWS SDK (what rclone sends before its first upload, {@code aws s3 mb} and
 * {@code rb}): a bucket made exists while it is empty, is made again without complaint by its owner, and is deleted
 * only once empty; names and documents that are not S3's are refused and make nothing.
 */
class S3BucketsTest extends S3NodeTest {
  static S3Exception refused(int status, String code, Runnable call) {
    S3Exception e = assertThrows(S3Exception.class, call::run);
    assertEquals(status, e.statusCode(), e.toString());
    assertEquals(code, e.awsErrorDetails().errorCode(), e.toString());
    return e;
  }

  static long made() {
    return Db.count(pg, "SELECT count(*) FROM s3_buckets");
  }

  @Test
  void aBucketMadeExistsWhileEmptyAndIsDeletedOnceEmpty() {
    s3.createBucket(r -> r.bucket("made"));
    s3.headBucket(r -> r.bucket("made"));
    assertTrue(s3.listObjectsV2(r -> r.bucket("made")).contents().isEmpty());
    s3.createBucket(r -> r.bucket("made")); // its owner's bucket: 200 again (S3 in us-east-1)
    s3.createBucket(r -> r.bucket("elsewhere").createBucketConfiguration(c -> c
        .locationConstraint(BucketLocationConstraint.EU_WEST_1)));
    s3.headBucket(r -> r.bucket("elsewhere"));

    s3.putObject(r -> r.bucket("made").key("k"), RequestBody.fromString("x"));
    refused(409, "BucketNotEmpty", () -> s3.deleteBucket(r -> r.bucket("made")));
    s3.deleteObject(r -> r.bucket("made").key("k"));
    String upload = s3.createMultipartUpload(r -> r.bucket("made").key("u")).uploadId();
    refused(409, "BucketNotEmpty", () -> s3.deleteBucket(r -> r.bucket("made")));
    s3.abortMultipartUpload(r -> r.bucket("made").key("u").uploadId(upload));
    s3.deleteBucket(r -> r.bucket("made"));
    assertThrows(NoSuchBucketException.class, () -> s3.headBucket(r -> r.bucket("made")));
    assertThrows(NoSuchBucketException.class, () -> s3.deleteBucket(r -> r.bucket("made")));
    // a bucket made only by its objects is deleted with its last one, as before
    s3.putObject(r -> r.bucket("implicit").key("k"), RequestBody.fromString("x"));
    s3.deleteObject(r -> r.bucket("implicit").key("k"));
    assertThrows(NoSuchBucketException.class, () -> s3.deleteBucket(r -> r.bucket("implicit")));
  }

  @Test
  void bucketsAreTheAccountsOwnAndCountedAndNamedAsS3NamesThem() throws Exception {
    s3.createBucket(r -> r.bucket("mine-only"));
    Accounts.NewKey other = node.createAccount("s3-buckets-other", true, 10, 1000);
    try (S3Client theirs = node.s3(other.accessKeyId(), other.secretAccessKey(), 1)) {
      assertThrows(NoSuchBucketException.class, () -> theirs.headBucket(r -> r.bucket("mine-only")));
      assertThrows(NoSuchBucketException.class, () -> theirs.deleteBucket(r -> r.bucket("mine-only")));
      theirs.createBucket(r -> r.bucket("mine-only")); // a namespace of their own
    }
    s3.headBucket(r -> r.bucket("mine-only"));
    long before = made();
    // sent as written (the SDK refuses some of them itself)
    for (String name : new String[] {"ab", "Upper", "under_score", "-edge", "a..b", "192.168.0.1", "x".repeat(64)}) {
      S3MultipartTest.Answer answer = S3MultipartTest.signed(node, SdkHttpMethod.PUT, name, new byte[0], b -> b);
      assertEquals(400, answer.status(), name + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>InvalidBucketName</Code>"), answer.body());
    }
    for (String document : new String[] {"not xml", "<Other/>", "<CreateBucketConfiguration>",
        "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><CreateBucketConfiguration>&x;"
            + "</CreateBucketConfiguration>"}) {
      S3MultipartTest.Answer answer = S3MultipartTest.signed(node, SdkHttpMethod.PUT, "bad-config",
          document.getBytes(StandardCharsets.UTF_8), b -> b);
      assertEquals(400, answer.status(), document + ": " + answer.body());
      assertTrue(answer.body().contains("<Code>MalformedXML</Code>"), answer.body());
    }
    assertEquals(before, made(), "nothing refused was made");

    // an account makes at most 1,000; one it has already is answered as before
    String account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    Db.execute(pg, "INSERT INTO s3_buckets SELECT ?, 'filler-' || i, now() FROM generate_series(1, "
        + (S3Api.MAX_BUCKETS - made("'" + account + "'")) + ") i", account);
    S3Exception many = refused(400, "TooManyBuckets", () -> s3.createBucket(r -> r.bucket("one-too-many")));
    assertTrue(many.awsErrorDetails().errorMessage().contains("1000 buckets"), many.toString());
    s3.createBucket(r -> r.bucket("mine-only"));
    s3.putObject(r -> r.bucket("with-objects").key("k"), RequestBody.fromString("x"));
    s3.createBucket(r -> r.bucket("with-objects")); // it has it: its objects made it
    Db.execute(pg, "DELETE FROM s3_buckets WHERE name LIKE 'filler-%'");
  }

  static long made(String accountLiteral) {
    return Db.count(pg, "SELECT count(*) FROM s3_buckets WHERE account_id = " + accountLiteral);
  }

  /**
   * ListBuckets ({@code aws s3 ls}, {@code rclone lsd}): the account's buckets however each came to be (made, named by
   * a receipt rule, holding an upload under way, holding objects), by their names' bytes, dated, by page; no other
   * account's.
   */
  @Test
  void listBucketsNamesTheAccountsBucketsInOrderByPage() throws Exception {
    Accounts.NewKey key = node.createAccount("s3-list-buckets", true, 10, 1000);
    String account = key.accountId();
    try (S3Client theirs = node.s3(key.accessKeyId(), key.secretAccessKey(), 1)) {
      assertEquals(List.of(), theirs.listBuckets().buckets());
      Instant start = Instant.now().minusSeconds(1);
      theirs.createBucket(r -> r.bucket("made-b"));
      theirs.putObject(r -> r.bucket("made-b").key("k"), RequestBody.fromString("x"));
      theirs.putObject(r -> r.bucket("ab").key("1"), RequestBody.fromString("x"));
      theirs.putObject(r -> r.bucket("ab").key("2"), RequestBody.fromString("x"));
      theirs.putObject(r -> r.bucket("a.b").key("1"), RequestBody.fromString("x"));
      theirs.createMultipartUpload(r -> r.bucket("uploading-c").key("u"));
      Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name) VALUES (?, 'set')", account);
      Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, "
          + "recipients, actions, scan_enabled) VALUES (?, 'set', 'r', 0, true, 'Optional', '{}', "
          + "'[{\"AddHeaderAction\": {}}, {\"S3Action\": {\"BucketName\": \"rule-d\"}}]', false)", account);
      Db.execute(pg, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
          + "SELECT ?, 'a-b', 'mail/' || i, 'm' || i, 'x', timestamptz '2020-01-01 00:00:00Z' + i * interval '1 day' "
          + "FROM generate_series(0, 2) i", account);

      // by their UTF-8 bytes: '-' (0x2D) before '.' before letters, whatever the database's collation
      List<Bucket> all = theirs.listBuckets().buckets();
      assertEquals(List.of("a-b", "a.b", "ab", "made-b", "rule-d", "uploading-c"),
          all.stream().map(Bucket::name).toList());
      assertEquals(Instant.parse("2020-01-01T00:00:00Z"), all.get(0).creationDate(), "its oldest object's time");
      for (Bucket b : all.subList(1, all.size())) {
        assertTrue(!b.creationDate().isBefore(start.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)), b.toString());
      }
      // by page, as the SDK's paginator reads them
      ListBucketsResponse first = theirs.listBuckets(r -> r.maxBuckets(4));
      assertEquals(List.of("a-b", "a.b", "ab", "made-b"), first.buckets().stream().map(Bucket::name).toList());
      ListBucketsResponse second = theirs.listBuckets(r -> r.maxBuckets(4)
          .continuationToken(first.continuationToken()));
      assertEquals(List.of("rule-d", "uploading-c"), second.buckets().stream().map(Bucket::name).toList());
      assertNull(second.continuationToken());
      assertEquals(all, theirs.listBucketsPaginator(r -> r.maxBuckets(1)).buckets().stream().toList());
      ListBucketsResponse prefixed = theirs.listBuckets(r -> r.prefix("a"));
      assertEquals(List.of("a-b", "a.b", "ab"), prefixed.buckets().stream().map(Bucket::name).toList());
      assertEquals("a", prefixed.prefix());
      assertEquals(account, prefixed.owner().id());

      refused(400, "InvalidArgument", () -> theirs.listBuckets(r -> r.maxBuckets(0)));
      refused(400, "InvalidArgument", () -> theirs.listBuckets(r -> r.maxBuckets(S3Api.MAX_BUCKETS_LISTED + 1)));
      refused(400, "InvalidArgument", () -> theirs.listBuckets(r -> r.continuationToken("!not a token")));

      // a bucket only its objects made goes with them
      theirs.deleteObject(r -> r.bucket("ab").key("1"));
      theirs.deleteObject(r -> r.bucket("ab").key("2"));
      assertTrue(theirs.listBuckets().buckets().stream().noneMatch(b -> b.name().equals("ab")));
    } finally {
      Db.execute(pg, "DELETE FROM receipt_rules WHERE account_id = ?", account);
      Db.execute(pg, "DELETE FROM receipt_rule_sets WHERE account_id = ?", account);
    }
    // and no one else's
    assertTrue(s3.listBuckets().buckets().stream().noneMatch(b -> b.name().equals("rule-d")
        || b.name().equals("a-b")));
  }

  /**
   * A bucket's configurations, none of which is ever set here, read as S3 answers them for a bucket without them
   * (what Terraform, mc and s3cmd read before they act): not the bucket's listing, which these GETs used to get.
   */
  @Test
  void aBucketsConfigurationsAreThoseOfABucketWithoutAny() {
    s3.createBucket(r -> r.bucket("configs"));
    s3.putObject(r -> r.bucket("configs").key("k"), RequestBody.fromString("x"));
    String location = s3.getBucketLocation(r -> r.bucket("configs")).locationConstraintAsString();
    assertTrue(location == null || location.isEmpty(), "us-east-1's: " + location);
    assertNull(s3.getBucketVersioning(r -> r.bucket("configs")).status(), "never enabled");
    assertNull(s3.getBucketLogging(r -> r.bucket("configs")).loggingEnabled());
    assertTrue(s3.getBucketNotificationConfiguration(r -> r.bucket("configs")).topicConfigurations().isEmpty());
    assertNull(s3.getBucketAccelerateConfiguration(r -> r.bucket("configs")).status());
    assertEquals(Payer.BUCKET_OWNER, s3.getBucketRequestPayment(r -> r.bucket("configs")).payer());
    assertEquals(ObjectOwnership.BUCKET_OWNER_ENFORCED, s3.getBucketOwnershipControls(r -> r.bucket("configs"))
        .ownershipControls().rules().get(0).objectOwnership(), "S3's default: ACLs disabled");
    Map<String, Runnable> absent = new LinkedHashMap<>();
    absent.put("NoSuchBucketPolicy", () -> s3.getBucketPolicy(r -> r.bucket("configs")));
    absent.put("NoSuchCORSConfiguration", () -> s3.getBucketCors(r -> r.bucket("configs")));
    absent.put("NoSuchLifecycleConfiguration", () -> s3.getBucketLifecycleConfiguration(r -> r.bucket("configs")));
    absent.put("NoSuchTagSet", () -> s3.getBucketTagging(r -> r.bucket("configs")));
    absent.put("ServerSideEncryptionConfigurationNotFoundError", () -> s3.getBucketEncryption(r -> r
        .bucket("configs")));
    absent.put("NoSuchWebsiteConfiguration", () -> s3.getBucketWebsite(r -> r.bucket("configs")));
    absent.put("NoSuchPublicAccessBlockConfiguration", () -> s3.getPublicAccessBlock(r -> r.bucket("configs")));
    absent.put("ReplicationConfigurationNotFoundError", () -> s3.getBucketReplication(r -> r.bucket("configs")));
    absent.put("ObjectLockConfigurationNotFoundError", () -> s3.getObjectLockConfiguration(r -> r
        .bucket("configs")));
    absent.forEach((code, call) -> refused(404, code, call));
    refused(501, "NotImplemented", () -> s3.listBucketAnalyticsConfigurations(r -> r.bucket("configs")));
    // of a bucket the account does not have: NoSuchBucket, as for any other request
    assertThrows(NoSuchBucketException.class, () -> s3.getBucketLocation(r -> r.bucket("not-a-bucket")));
    assertThrows(NoSuchBucketException.class, () -> s3.getBucketPolicy(r -> r.bucket("not-a-bucket")));
    // the bucket's listing is as before
    assertEquals(List.of("k"), s3.listObjectsV2(r -> r.bucket("configs")).contents().stream()
        .map(software.amazon.awssdk.services.s3.model.S3Object::key).toList());
    s3.deleteObject(r -> r.bucket("configs").key("k"));
    s3.deleteBucket(r -> r.bucket("configs"));
  }

  /**
   * ACLs are disabled, as on an S3 bucket whose Object Ownership is BucketOwnerEnforced (S3's default): read, an ACL is
   * the owner's full control; a write may ask for that and nothing else, any other is refused and writes nothing.
   */
  @Test
  void aclsAreDisabledAsOnABucketWhoseOwnerIsEnforced() {
    String account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    s3.createBucket(r -> r.bucket("acls").acl(BucketCannedACL.PRIVATE));
    refused(400, "InvalidBucketAclWithObjectOwnership", () -> s3.createBucket(r -> r.bucket("acls-public")
        .acl(BucketCannedACL.PUBLIC_READ)));
    assertThrows(NoSuchBucketException.class, () -> s3.headBucket(r -> r.bucket("acls-public")));

    s3.putObject(r -> r.bucket("acls").key("private").acl(ObjectCannedACL.PRIVATE), RequestBody.fromString("x"));
    s3.putObject(r -> r.bucket("acls").key("owned").acl(ObjectCannedACL.BUCKET_OWNER_FULL_CONTROL),
        RequestBody.fromString("x"));
    refused(400, "AccessControlListNotSupported", () -> s3.putObject(r -> r.bucket("acls").key("public")
        .acl(ObjectCannedACL.PUBLIC_READ), RequestBody.fromString("x")));
    refused(400, "AccessControlListNotSupported", () -> s3.putObject(r -> r.bucket("acls").key("public")
        .grantRead("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""), RequestBody.fromString("x")));
    refused(400, "AccessControlListNotSupported", () -> s3.createMultipartUpload(r -> r.bucket("acls").key("public")
        .acl(ObjectCannedACL.PUBLIC_READ)));
    refused(400, "AccessControlListNotSupported", () -> s3.copyObject(r -> r.sourceBucket("acls").sourceKey("private")
        .destinationBucket("acls").destinationKey("public").acl(ObjectCannedACL.PUBLIC_READ_WRITE)));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'public'"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM multipart_uploads WHERE object_key = 'public'"));

    GetObjectAclResponse acl = s3.getObjectAcl(r -> r.bucket("acls").key("private"));
    assertEquals(account, acl.owner().id());
    assertEquals(1, acl.grants().size());
    assertEquals(List.of(account, Permission.FULL_CONTROL), List.of(acl.grants().get(0).grantee().id(),
        acl.grants().get(0).permission()));
    GetBucketAclResponse bucketAcl = s3.getBucketAcl(r -> r.bucket("acls"));
    assertEquals(List.of(account, Permission.FULL_CONTROL), List.of(bucketAcl.grants().get(0).grantee().id(),
        bucketAcl.grants().get(0).permission()));
    refused(404, "NoSuchKey", () -> s3.getObjectAcl(r -> r.bucket("acls").key("none")));

    // set: what there is, yes; anything else, no
    s3.putObjectAcl(r -> r.bucket("acls").key("private").acl(ObjectCannedACL.BUCKET_OWNER_FULL_CONTROL));
    s3.putBucketAcl(r -> r.bucket("acls").acl(BucketCannedACL.PRIVATE));
    refused(400, "AccessControlListNotSupported", () -> s3.putObjectAcl(r -> r.bucket("acls").key("private")
        .acl(ObjectCannedACL.PUBLIC_READ)));
    refused(400, "AccessControlListNotSupported", () -> s3.putBucketAcl(r -> r.bucket("acls")
        .acl(BucketCannedACL.PUBLIC_READ)));
    refused(400, "AccessControlListNotSupported", () -> s3.putObjectAcl(r -> r.bucket("acls").key("private")
        .accessControlPolicy(p -> p.owner(o -> o.id(account)).grants(Grant.builder().permission(Permission.READ)
            .grantee(g -> g.type(Type.GROUP).uri("http://acs.amazonaws.com/groups/global/AllUsers")).build()))));
    // a document: the owner's full control alone, as GetObjectAcl reads it, yes; another user's grant, no
    s3.putObjectAcl(r -> r.bucket("acls").key("private").accessControlPolicy(p -> p.owner(acl.owner())
        .grants(acl.grants())));
    s3.putBucketAcl(r -> r.bucket("acls").accessControlPolicy(p -> p.owner(bucketAcl.owner())
        .grants(bucketAcl.grants())));
    refused(400, "AccessControlListNotSupported", () -> s3.putObjectAcl(r -> r.bucket("acls").key("private")
        .accessControlPolicy(p -> p.owner(acl.owner()).grants(acl.grants().get(0), Grant.builder()
            .permission(Permission.READ).grantee(g -> g.type(Type.CANONICAL_USER).id("someone-else")).build()))));
    refused(400, "AccessControlListNotSupported", () -> s3.putObjectAcl(r -> r.bucket("acls").key("private")
        .accessControlPolicy(p -> p.owner(acl.owner()).grants(Grant.builder().permission(Permission.READ)
            .grantee(acl.grants().get(0).grantee()).build()))));
    refused(404, "NoSuchKey", () -> s3.putObjectAcl(r -> r.bucket("acls").key("none").acl(ObjectCannedACL.PRIVATE)));
    refused(404, "NoSuchKey", () -> s3.putObjectAcl(r -> r.bucket("acls").key("none").accessControlPolicy(p -> p
        .owner(acl.owner()).grants(acl.grants()))));
    s3.deleteObject(r -> r.bucket("acls").key("private"));
    s3.deleteObject(r -> r.bucket("acls").key("owned"));
    s3.deleteBucket(r -> r.bucket("acls"));
  }
}
