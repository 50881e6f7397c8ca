package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketLocationConstraint;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.S3Exception;

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
}
