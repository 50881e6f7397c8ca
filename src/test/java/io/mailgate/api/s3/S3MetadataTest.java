package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3MultipartTest.MIB;
import static io.mailgate.api.s3.S3MultipartTest.random;
import static io.mailgate.api.s3.S3MultipartTest.refused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * An object keeps the headers it was written with that S3 keeps, and gives them back on GetObject and HeadObject: its
 * Content-Type, Content-Disposition, Content-Encoding, Content-Language, Cache-Control, Expires and user metadata
 * ({@code x-amz-meta-*}), from a PutObject, a multipart upload's creation, or a copy (its source's, or the request's
 * with REPLACE). What an app stores an attachment with (its type, its file name) is what it gets back.
 */
class S3MetadataTest extends S3NodeTest {
  static HeadObjectResponse head(String key) {
    return s3.headObject(r -> r.bucket("meta").key(key));
  }

  static long objects(String key) {
    return Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = '" + key + "'");
  }

  static long uploads() {
    return Db.count(pg, "SELECT count(*) FROM multipart_uploads");
  }

  @Test
  void aPutsHeadersAndUserMetadataAreGivenBack() {
    byte[] content = random(70_000, 7);
    s3.putObject(r -> r.bucket("meta").key("report.html.gz").contentType("text/html; charset=utf-8")
        .contentDisposition("attachment; filename=\"report.html\"").contentEncoding("gzip").contentLanguage("fr")
        .cacheControl("max-age=60").expires(Instant.parse("2030-01-01T00:00:00Z"))
        .metadata(Map.of("Sender", "billing@example.com", "tier", "gold")), RequestBody.fromBytes(content));
    HeadObjectResponse head = head("report.html.gz");
    assertEquals("text/html; charset=utf-8", head.contentType());
    assertEquals("attachment; filename=\"report.html\"", head.contentDisposition());
    // the SDK streams the body in aws-chunked encoding: that coding is the upload's, not the object's
    assertEquals("gzip", head.contentEncoding());
    assertEquals("fr", head.contentLanguage());
    assertEquals("max-age=60", head.cacheControl());
    assertEquals(Instant.parse("2030-01-01T00:00:00Z"), head.expires());
    // names lower-cased, as S3 keeps them
    assertEquals(Map.of("sender", "billing@example.com", "tier", "gold"), head.metadata());

    ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(r -> r.bucket("meta").key("report.html.gz"));
    assertArrayEquals(content, got.asByteArray());
    assertEquals("text/html; charset=utf-8", got.response().contentType());
    assertEquals("gzip", got.response().contentEncoding());
    assertEquals(Map.of("sender", "billing@example.com", "tier", "gold"), got.response().metadata());
    // a range answers with them too, and the response-* parameters still override
    GetObjectResponse ranged = s3.getObjectAsBytes(r -> r.bucket("meta").key("report.html.gz").range("bytes=0-9")
        .responseContentType("application/gzip").responseContentDisposition("inline")).response();
    assertEquals("application/gzip", ranged.contentType());
    assertEquals("inline", ranged.contentDisposition());
    assertEquals("gold", ranged.metadata().get("tier"));

    // written again without them, it has none: a write replaces the object, metadata and all
    s3.putObject(r -> r.bucket("meta").key("report.html.gz").contentType("text/plain"), RequestBody.fromString("x"));
    HeadObjectResponse replaced = head("report.html.gz");
    assertEquals("text/plain", replaced.contentType());
    assertNull(replaced.contentDisposition());
    assertNull(replaced.contentEncoding());
    assertEquals(Map.of(), replaced.metadata());
  }

  /** An object a receipt rule or an export job wrote has none: it is served as bytes. */
  @Test
  void anObjectWrittenWithoutAnyIsServedAsBytes() {
    Db.execute(pg, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
        + "VALUES (?, 'meta', 'inbound/1', 'm1', ?, now())", node.config().get(MailgateConfig.DEV_ACCOUNT_ID),
        "From: a@example.com\r\n\r\nhi".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    HeadObjectResponse head = head("inbound/1");
    assertEquals(ObjectMetadata.DEFAULT_CONTENT_TYPE, head.contentType());
    assertEquals(Map.of(), head.metadata());
    assertNull(head.contentDisposition());
  }

  @Test
  void aCompletedUploadHasTheMetadataItWasCreatedWith() {
    String uploadId = s3.createMultipartUpload(r -> r.bucket("meta").key("video.mp4").contentType("video/mp4")
        .metadata(Map.of("camera", "front-door"))).uploadId();
    byte[] one = random(5 * MIB, 1);
    byte[] two = random(1000, 2);
    // a part's own headers are not the object's
    String e1 = s3.uploadPart(r -> r.bucket("meta").key("video.mp4").uploadId(uploadId).partNumber(1),
        RequestBody.fromBytes(one)).eTag();
    String e2 = s3.uploadPart(r -> r.bucket("meta").key("video.mp4").uploadId(uploadId).partNumber(2)
        .overrideConfiguration(o -> o.putHeader("Content-Type", "text/plain")), RequestBody.fromBytes(two)).eTag();
    s3.completeMultipartUpload(r -> r.bucket("meta").key("video.mp4").uploadId(uploadId).multipartUpload(m -> m.parts(
        CompletedPart.builder().partNumber(1).eTag(e1).build(), CompletedPart.builder().partNumber(2).eTag(e2)
            .build())));
    HeadObjectResponse head = head("video.mp4");
    assertEquals("video/mp4", head.contentType());
    assertEquals(Map.of("camera", "front-door"), head.metadata());
    assertEquals(5 * MIB + 1000, head.contentLength());
    // a part of it answers with the object's metadata, as S3's
    assertEquals("video/mp4", s3.headObject(r -> r.bucket("meta").key("video.mp4").partNumber(2)).contentType());
  }

  @Test
  void aCopyKeepsItsSourcesMetadataOrTakesTheRequestsWithReplace() {
    s3.putObject(r -> r.bucket("meta").key("a.pdf").contentType("application/pdf")
        .contentDisposition("attachment; filename=\"invoice.pdf\"").metadata(Map.of("invoice", "42")),
        RequestBody.fromString("%PDF-1.7"));
    // COPY (the default): the request's own headers are not the copy's
    s3.copyObject(r -> r.sourceBucket("meta").sourceKey("a.pdf").destinationBucket("meta").destinationKey("b.pdf")
        .contentType("text/plain").metadata(Map.of("ignored", "yes")));
    HeadObjectResponse copied = head("b.pdf");
    assertEquals("application/pdf", copied.contentType());
    assertEquals("attachment; filename=\"invoice.pdf\"", copied.contentDisposition());
    assertEquals(Map.of("invoice", "42"), copied.metadata());

    // REPLACE: the request's, and nothing of the source's
    s3.copyObject(r -> r.sourceBucket("meta").sourceKey("a.pdf").destinationBucket("meta").destinationKey("c.pdf")
        .metadataDirective(MetadataDirective.REPLACE).contentType("application/x-pdf")
        .metadata(Map.of("archived", "true")));
    HeadObjectResponse replaced = head("c.pdf");
    assertEquals("application/x-pdf", replaced.contentType());
    assertNull(replaced.contentDisposition());
    assertEquals(Map.of("archived", "true"), replaced.metadata());

    // onto itself with REPLACE: how S3 clients change an object's metadata without sending its bytes again
    s3.copyObject(r -> r.sourceBucket("meta").sourceKey("a.pdf").destinationBucket("meta").destinationKey("a.pdf")
        .metadataDirective(MetadataDirective.REPLACE).contentType("application/pdf")
        .metadata(Map.of("invoice", "42", "paid", "2026-12-06")));
    HeadObjectResponse self = head("a.pdf");
    assertEquals(Map.of("invoice", "42", "paid", "2026-12-06"), self.metadata());
    assertNull(self.contentDisposition());
    assertEquals("%PDF-1.7", s3.getObjectAsBytes(r -> r.bucket("meta").key("a.pdf")).asUtf8String());
  }

  /**
   * User metadata is at most 2 KB of names and values, as in S3: past it PutObject, CreateMultipartUpload and a copy's
   * REPLACE are MetadataTooLarge, and nothing is written.
   */
  @Test
  void metadataPastTwoKilobytesIsRefusedAndNothingIsWritten() {
    // "note" and a value of 2,044 bytes: 2,048, the most
    s3.putObject(r -> r.bucket("meta").key("full").metadata(Map.of("note", "n".repeat(2044))),
        RequestBody.fromString("ok"));
    assertEquals(2044, head("full").metadata().get("note").length());

    Map<String, String> tooMuch = Map.of("note", "n".repeat(2045));
    S3Exception put = refused(400, "MetadataTooLarge", () -> s3.putObject(r -> r.bucket("meta").key("over")
        .metadata(tooMuch), RequestBody.fromBytes(random(100_000, 3))));
    assertTrue(put.getMessage().contains("exceed the maximum allowed metadata size"), put.getMessage());
    assertEquals(0, objects("over"));

    long uploads = uploads();
    refused(400, "MetadataTooLarge", () -> s3.createMultipartUpload(r -> r.bucket("meta").key("over")
        .metadata(tooMuch)));
    assertEquals(uploads, uploads());

    refused(400, "MetadataTooLarge", () -> s3.copyObject(r -> r.sourceBucket("meta").sourceKey("full")
        .destinationBucket("meta").destinationKey("over").metadataDirective(MetadataDirective.REPLACE)
        .metadata(tooMuch)));
    assertEquals(0, objects("over"));
    // with COPY the request's metadata is not the copy's, so it is not counted
    s3.copyObject(r -> r.sourceBucket("meta").sourceKey("full").destinationBucket("meta").destinationKey("over")
        .metadata(tooMuch));
    assertEquals(2044, head("over").metadata().get("note").length());
  }
}
