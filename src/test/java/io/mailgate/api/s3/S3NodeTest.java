package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3MultipartTest.MIB;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A node for a class of S3 tests, its account allowed 64 MiB (a few objects of several parts), and the SDK's S3 client
 * on it; each test starts with no object and no upload.
 */
abstract class S3NodeTest {
  static TestNode node;
  static String pg;
  static S3Client s3;

  @BeforeAll
  static void start() {
    node = TestNode.start("", c -> c.with(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT, 64 * MIB));
    pg = node.config().get(MailgateConfig.PG_URL);
    s3 = node.s3(TestNode.ACCESS_KEY, TestNode.SECRET, 1);
  }

  @AfterAll
  static void stop() {
    s3.close();
    node.close();
  }

  @AfterEach
  void clear() {
    Db.execute(pg, "DELETE FROM multipart_parts; DELETE FROM multipart_uploads; DELETE FROM received_objects");
  }
}
