package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.store.Timestamps;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The receipt rules' S3 write ({@link MailReceiver#WRITE}) over an object the S3 API wrote at the same key: the
 * received message replaces all of it, its parts, checksums, metadata and tags with its content, as any write that
 * replaces an object's content does. (A receipt's key ends with its message id, so a collision takes an object put at
 * a key chosen for it: the statement is run here with one.)
 */
class ReceiptWriteTest {

  @Test
  void aReceivedMessageReplacesEverythingTheObjectAtItsKeyKept() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 1);
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('r1', 'r1', 1, 1)");
      Db.execute(url, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at, "
          + "part_sizes, part_checksums, parts_etag, checksum_algorithm, checksum, metadata, tags) VALUES ('r1', "
          + "'inbox', 'mail/m1', 's3-put-x', 'old content', now(), '{5,6}', '{a,b}', 'abc-2', 'crc32', 'AAAA-2', "
          + "'{\"Content-Type\": \"text/plain\", \"x-amz-meta-k\": \"v\"}', '{\"t\": \"1\"}')");
      OffsetDateTime at = Timestamps.utc(Instant.now());
      Row counts = pool.preparedQuery(MailReceiver.WRITE).execute(Tuple.tuple()
          .addArrayOfString(new String[] {"r1"}).addArrayOfString(new String[] {"inbox"})
          .addArrayOfString(new String[] {"mail/m1"}).addArrayOfString(new String[] {"m1"})
          .addArrayOfBuffer(new Buffer[] {Buffer.buffer("Subject: received\r\n\r\nbody")})
          .addArrayOfOffsetDateTime(new OffsetDateTime[] {at})
          .addArrayOfString(new String[0]).addArrayOfString(new String[0]).addArrayOfString(new String[0])
          .addArrayOfString(new String[0]).addArrayOfOffsetDateTime(new OffsetDateTime[0])
          .addArrayOfString(new String[0]).addArrayOfString(new String[0]).addArrayOfString(new String[0])
          .addArrayOfString(new String[0]).addArrayOfBuffer(new Buffer[0])
          .addArrayOfOffsetDateTime(new OffsetDateTime[0])).await(30, TimeUnit.SECONDS).iterator().next();
      assertEquals(1L, counts.getLong(0));
      assertEquals("m1|Subject: received\r\n\r\nbody|true|true|true|true|true|true|true",
          Db.string(url, "SELECT message_id || '|' || convert_from(content, 'UTF8') || '|' || (part_sizes IS NULL) "
              + "|| '|' || (part_checksums IS NULL) || '|' || (parts_etag IS NULL) || '|' "
              + "|| (checksum_algorithm IS NULL) || '|' || (checksum IS NULL) || '|' || (metadata IS NULL) || '|' "
              + "|| (tags IS NULL) FROM received_objects WHERE object_key = 'mail/m1'"));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
