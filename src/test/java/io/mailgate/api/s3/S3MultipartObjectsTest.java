package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3MultipartTest.MIB;
import static io.mailgate.api.s3.S3MultipartTest.md5;
import static io.mailgate.api.s3.S3MultipartTest.multipartEtag;
import static io.mailgate.api.s3.S3MultipartTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.UploadPartCopyRequest;
import software.amazon.awssdk.services.s3.model.UploadPartCopyResponse;

/**
 * Objects completed from multipart uploads, through the AWS SDK, as S3 keeps them: S3's ETag (the MD5 of the parts'
 * MD5s, a dash and their count) wherever the object's ETag is given, and each part read back as it was put
 * (GetObject's and HeadObject's {@code partNumber}: 206, its Content-Range, {@code x-amz-mp-parts-count}), which the
 * SDK's multipart download asks for; an object put whole is its only part. A write over such an object makes it whole
 * again. A completion's conditional writes ({@code If-None-Match: *}, {@code If-Match}) hold, or it changes nothing.
 * Parts copied from objects (UploadPartCopy), whole or by range, and the SDK's multipart copy.
 */
class S3MultipartObjectsTest extends S3NodeTest {
  static String create(String key) {
    return s3.createMultipartUpload(r -> r.bucket("files").key(key)).uploadId();
  }

  /** Puts these parts (numbered from 1) in the upload; their completion's parts. */
  static CompletedPart[] put(String key, String uploadId, byte[]... parts) {
    CompletedPart[] named = new CompletedPart[parts.length];
    for (int i = 0; i < parts.length; i++) {
      int number = i + 1;
      String etag = s3.uploadPart(r -> r.bucket("files").key(key).uploadId(uploadId).partNumber(number),
          RequestBody.fromBytes(parts[i])).eTag();
      named[i] = CompletedPart.builder().partNumber(number).eTag(etag).build();
    }
    return named;
  }

  static CompleteMultipartUploadResponse complete(String key, String uploadId, CompletedPart[] parts,
      Consumer<CompleteMultipartUploadRequest.Builder> conditions) {
    return s3.completeMultipartUpload(r -> {
      r.bucket("files").key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts));
      conditions.accept(r);
    });
  }

  /** An object completed from these parts. */
  static CompleteMultipartUploadResponse upload(String key, byte[]... parts) {
    String uploadId = create(key);
    return complete(key, uploadId, put(key, uploadId, parts), r -> { });
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      all.writeBytes(p);
    }
    return all.toByteArray();
  }

  static ResponseBytes<GetObjectResponse> part(String key, int number) {
    return s3.getObjectAsBytes(r -> r.bucket("files").key(key).partNumber(number));
  }

  static S3Exception refused(int status, String code, Runnable call) {
    S3Exception e = assertThrows(S3Exception.class, call::run);
    assertEquals(status, e.statusCode(), e.toString());
    if (code != null) { // a HEAD's refusal has no body to name its code
      assertEquals(code, e.awsErrorDetails().errorCode(), e.toString());
    }
    return e;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void anObjectIsReadPartByPartAsItWasPut() throws Exception {
    byte[][] parts = {random(5 * MIB, 1), random(5 * MIB + 7, 2), utf8("the last part")};
    byte[] whole = concat(parts);
    String etag = multipartEtag(parts);
    assertEquals(etag, upload("doc", parts).eTag());
    long offset = 0;
    for (int i = 0; i < parts.length; i++) {
      int number = i + 1;
      String range = "bytes " + offset + "-" + (offset + parts[i].length - 1) + "/" + whole.length;
      ResponseBytes<GetObjectResponse> got = part("doc", number);
      assertArrayEquals(parts[i], got.asByteArray(), "part " + number);
      assertEquals(206, got.response().sdkHttpResponse().statusCode());
      assertEquals(range, got.response().contentRange());
      assertEquals(3, got.response().partsCount());
      assertEquals(etag, got.response().eTag());
      HeadObjectResponse head = s3.headObject(r -> r.bucket("files").key("doc").partNumber(number));
      assertEquals(206, head.sdkHttpResponse().statusCode());
      assertEquals(parts[i].length, head.contentLength());
      assertEquals(range, head.contentRange());
      assertEquals(3, head.partsCount());
      offset += parts[i].length;
    }
    // the whole object, as S3 gives it: no count of parts without a part asked for
    ResponseBytes<GetObjectResponse> all = s3.getObjectAsBytes(r -> r.bucket("files").key("doc"));
    assertArrayEquals(whole, all.asByteArray());
    assertEquals(etag, all.response().eTag());
    assertNull(all.response().partsCount());
    assertEquals(etag, s3.headObject(r -> r.bucket("files").key("doc")).eTag());
    assertEquals(etag, s3.listObjectsV2(r -> r.bucket("files")).contents().get(0).eTag());
    // the object's conditions hold on its ETag, as the SDK's download asks for its parts after the first
    assertArrayEquals(parts[1], s3.getObjectAsBytes(r -> r.bucket("files").key("doc").partNumber(2).ifMatch(etag))
        .asByteArray());
    refused(304, null, () -> s3.getObjectAsBytes(r -> r.bucket("files").key("doc").partNumber(2)
        .ifNoneMatch(etag)));
    // the content's MD5 is not a multipart object's ETag
    String contentMd5 = "\"" + md5(whole) + "\"";
    refused(412, "PreconditionFailed", () -> s3.getObjectAsBytes(r -> r.bucket("files").key("doc").partNumber(2)
        .ifMatch(contentMd5)));
  }

  @Test
  void partsItDoesNotHaveAndMalformedNumbersAreRefused() {
    upload("doc", random(5 * MIB, 3), utf8("two"));
    refused(416, "InvalidPartNumber", () -> part("doc", 3));
    refused(416, null, () -> s3.headObject(r -> r.bucket("files").key("doc").partNumber(3)));
    for (int number : new int[] {0, 10_001}) {
      refused(400, "InvalidArgument", () -> part("doc", number));
    }
    // a part is a range: both at once, S3 refuses
    refused(400, "InvalidRequest", () -> s3.getObjectAsBytes(r -> r.bucket("files").key("doc").partNumber(1)
        .range("bytes=0-1")));
    refused(404, "NoSuchKey", () -> part("absent", 1));
  }

  @Test
  void anObjectPutWholeIsItsOnlyPartAndAWriteOverAMultipartObjectMakesItWhole() throws Exception {
    s3.putObject(r -> r.bucket("files").key("plain"), RequestBody.fromString("plain"));
    ResponseBytes<GetObjectResponse> only = part("plain", 1);
    assertEquals("plain", only.asUtf8String());
    assertEquals(206, only.response().sdkHttpResponse().statusCode());
    assertEquals("bytes 0-4/5", only.response().contentRange());
    assertNull(only.response().partsCount());
    refused(416, "InvalidPartNumber", () -> part("plain", 2));
    s3.putObject(r -> r.bucket("files").key("empty"), RequestBody.empty());
    ResponseBytes<GetObjectResponse> empty = part("empty", 1);
    assertEquals(0, empty.asByteArray().length);
    assertEquals(200, empty.response().sdkHttpResponse().statusCode());

    // put over a multipart object: one part, its content's MD5
    byte[] first = random(5 * MIB, 4);
    upload("m", first, utf8("end"));
    s3.putObject(r -> r.bucket("files").key("m"), RequestBody.fromString("replaced"));
    assertEquals("\"" + md5(utf8("replaced")) + "\"", s3.headObject(r -> r.bucket("files").key("m")).eTag());
    assertNull(s3.headObject(r -> r.bucket("files").key("m").partNumber(1)).partsCount());
    refused(416, "InvalidPartNumber", () -> part("m", 2));
    // a copy of one is one part too (S3's CopyObject makes a single-part object), the source keeping its parts
    CompleteMultipartUploadResponse n = upload("n", first, utf8("end"));
    String copied = s3.copyObject(r -> r.sourceBucket("files").sourceKey("n").destinationBucket("files")
        .destinationKey("m")).copyObjectResult().eTag();
    assertEquals("\"" + md5(first, utf8("end")) + "\"", copied);
    assertEquals(copied, s3.headObject(r -> r.bucket("files").key("m")).eTag());
    refused(416, "InvalidPartNumber", () -> part("m", 2));
    assertEquals(n.eTag(), s3.headObject(r -> r.bucket("files").key("n")).eTag());
    assertArrayEquals(utf8("end"), part("n", 2).asByteArray());
    // and an object completed over another takes the new one's parts
    upload("n", utf8("alone"));
    assertEquals(multipartEtag(utf8("alone")), s3.headObject(r -> r.bucket("files").key("n")).eTag());
    assertEquals(1, s3.headObject(r -> r.bucket("files").key("n").partNumber(1)).partsCount());
    refused(416, "InvalidPartNumber", () -> part("n", 2));
  }

  /** The SDK's multipart download: the first part, then the others the count it answered names, each checked. */
  @Test
  void theSdksMultipartDownloadReadsTheObjectByItsParts() throws Exception {
    byte[][] parts = {random(5 * MIB, 5), random(5 * MIB, 6), utf8("tail")};
    upload("big.bin", parts);
    s3.putObject(r -> r.bucket("files").key("small.bin"), RequestBody.fromString("small"));
    List<String> asked = Collections.synchronizedList(new ArrayList<>());
    ExecutionInterceptor recorder = new ExecutionInterceptor() {
      @Override
      public void afterTransmission(Context.AfterTransmission context, ExecutionAttributes attributes) {
        if (context.request() instanceof GetObjectRequest get) {
          asked.add(get.key() + " " + get.partNumber() + " " + context.httpResponse().statusCode());
        }
      }
    };
    try (S3AsyncClient client = S3AsyncClient.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1).multipartEnabled(true)
        .overrideConfiguration(o -> o.addExecutionInterceptor(recorder))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).build()) {
      byte[] got = client.getObject(r -> r.bucket("files").key("big.bin"), AsyncResponseTransformer.toBytes()).get()
          .asByteArray();
      assertArrayEquals(concat(parts), got);
      assertEquals(List.of("big.bin 1 206", "big.bin 2 206", "big.bin 3 206"), List.copyOf(asked));
      asked.clear();
      assertEquals("small", client.getObject(r -> r.bucket("files").key("small.bin"),
          AsyncResponseTransformer.toBytes()).get().asUtf8String());
      assertEquals(List.of("small.bin 1 206"), List.copyOf(asked));
    }
  }

  @Test
  void aCompletionsConditionsHoldOrItChangesNothing() throws Exception {
    s3.putObject(r -> r.bucket("files").key("taken"), RequestBody.fromString("there"));
    String there = "\"" + md5(utf8("there")) + "\"";
    String uploadId = create("taken");
    CompletedPart[] parts = put("taken", uploadId, utf8("new"));
    refused(412, "PreconditionFailed", () -> complete("taken", uploadId, parts, r -> r.ifNoneMatch("*")));
    refused(412, "PreconditionFailed", () -> complete("taken", uploadId, parts,
        r -> r.ifMatch("\"0123456789abcdef0123456789abcdef\"")));
    refused(501, "NotImplemented", () -> complete("taken", uploadId, parts, r -> r.ifNoneMatch(there)));
    // nothing changed: the object as it was, the upload under way with its part
    assertEquals("there", s3.getObjectAsBytes(r -> r.bucket("files").key("taken")).asUtf8String());
    assertEquals(1, s3.listParts(r -> r.bucket("files").key("taken").uploadId(uploadId)).parts().size());
    CompleteMultipartUploadResponse done = complete("taken", uploadId, parts, r -> r.ifMatch(there));
    assertEquals(multipartEtag(utf8("new")), done.eTag());
    assertEquals("new", s3.getObjectAsBytes(r -> r.bucket("files").key("taken")).asUtf8String());
    // retried (its answer lost): answered as the first one was, not refused for the object it wrote itself
    assertEquals(done.eTag(), complete("taken", uploadId, parts, r -> r.ifNoneMatch("*")).eTag());

    String fresh = create("fresh");
    CompletedPart[] freshParts = put("fresh", fresh, utf8("fresh"));
    refused(404, "NoSuchKey", () -> complete("fresh", fresh, freshParts, r -> r.ifMatch(there)));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'fresh'"));
    complete("fresh", fresh, freshParts, r -> r.ifNoneMatch("*"));
    assertEquals("fresh", s3.getObjectAsBytes(r -> r.bucket("files").key("fresh")).asUtf8String());
  }

  static io.mailgate.ByteBudget reads() {
    return (io.mailgate.ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http").get("s3-reads");
  }

  static UploadPartCopyResponse copyPart(String source, String key, String uploadId, int number,
      Consumer<UploadPartCopyRequest.Builder> more) {
    return s3.uploadPartCopy(r -> {
      r.sourceBucket("files").sourceKey(source).destinationBucket("files").destinationKey(key).uploadId(uploadId)
          .partNumber(number);
      more.accept(r);
    });
  }

  /**
   * UploadPartCopy (what {@code aws s3 cp} between keys sends above its 8 MB threshold, and the SDK's multipart
   * copy): a part copied from an object, whole or a range of it, as UploadPart puts one (its MD5, the upload's
   * checksum), and the object completed from such parts is the bytes they name.
   */
  @Test
  void partsAreCopiedFromObjectsWholeOrByRange() throws Exception {
    byte[] source = random(12 * MIB, 7);
    s3.putObject(r -> r.bucket("files").key("src"), RequestBody.fromBytes(source));
    s3.putObject(r -> r.bucket("files").key("tail"), RequestBody.fromString("tail"));
    String uploadId = s3.createMultipartUpload(r -> r.bucket("files").key("dst")
        .checksumAlgorithm(ChecksumAlgorithm.CRC32)).uploadId();
    byte[] first = Arrays.copyOf(source, (int) (5 * MIB));
    byte[] rest = Arrays.copyOfRange(source, (int) (5 * MIB), source.length);
    UploadPartCopyResponse p1 = copyPart("src", "dst", uploadId, 1, r -> r.copySourceRange("bytes=0-"
        + (5 * MIB - 1)));
    assertEquals("\"" + md5(first) + "\"", p1.copyPartResult().eTag());
    assertEquals(S3MultipartTest.crc32(first), p1.copyPartResult().checksumCRC32());
    String sourceEtag = "\"" + md5(source) + "\"";
    UploadPartCopyResponse p2 = copyPart("src", "dst", uploadId, 2, r -> r.copySourceRange("bytes=" + 5 * MIB + "-"
        + (source.length - 1)).copySourceIfMatch(sourceEtag));
    UploadPartCopyResponse p3 = copyPart("tail", "dst", uploadId, 3, r -> { }); // all of it
    assertEquals("\"" + md5(utf8("tail")) + "\"", p3.copyPartResult().eTag());
    List<software.amazon.awssdk.services.s3.model.Part> listed = s3.listParts(r -> r.bucket("files").key("dst")
        .uploadId(uploadId)).parts();
    assertEquals(List.of((long) first.length, (long) rest.length, 4L), listed.stream().map(p -> p.size()).toList());
    CompletedPart[] named = new CompletedPart[3];
    UploadPartCopyResponse[] copies = {p1, p2, p3};
    for (int i = 0; i < 3; i++) {
      named[i] = CompletedPart.builder().partNumber(i + 1).eTag(copies[i].copyPartResult().eTag())
          .checksumCRC32(copies[i].copyPartResult().checksumCRC32()).build();
    }
    CompleteMultipartUploadResponse done = complete("dst", uploadId, named, r -> { });
    assertEquals(multipartEtag(first, rest, utf8("tail")), done.eTag());
    assertArrayEquals(concat(source, utf8("tail")), s3.getObjectAsBytes(r -> r.bucket("files").key("dst"))
        .asByteArray());
    io.mailgate.testing.Await.until(() -> reads().held() == 0, java.time.Duration.ofSeconds(5));
  }

  @Test
  void aPartCopyRefusedWritesNothing() throws Exception {
    s3.putObject(r -> r.bucket("files").key("five"), RequestBody.fromString("12345"));
    String uploadId = create("dst");
    for (String range : new String[] {"bytes=0-", "bytes=-2", "bytes=3-1", "items=0-1", "bytes=0-1,3-4",
        "bytes=0-5"}) {
      refused(400, "InvalidArgument", () -> copyPart("five", "dst", uploadId, 1, r -> r.copySourceRange(range)));
    }
    refused(412, "PreconditionFailed", () -> copyPart("five", "dst", uploadId, 1,
        r -> r.copySourceIfMatch("\"0123456789abcdef0123456789abcdef\"")));
    refused(412, "PreconditionFailed", () -> copyPart("five", "dst", uploadId, 1,
        r -> r.copySourceIfNoneMatch("*")));
    refused(404, "NoSuchKey", () -> copyPart("absent", "dst", uploadId, 1, r -> { }));
    refused(404, "NoSuchUpload", () -> copyPart("five", "other-key", uploadId, 1, r -> { }));
    refused(404, "NoSuchUpload", () -> copyPart("five", "dst", "made-up", 1, r -> { }));
    refused(400, "InvalidArgument", () -> copyPart("five", "dst", uploadId, 0, r -> { }));
    assertTrue(s3.listParts(r -> r.bucket("files").key("dst").uploadId(uploadId)).parts().isEmpty());
    // the budget of S3 bytes in memory: a part that would not fit is SlowDown, read never
    io.mailgate.ByteBudget reads = reads();
    long room = 3;
    long taken = reads.max() - room - reads.held();
    assertTrue(reads.take(taken));
    try {
      refused(503, "SlowDown", () -> copyPart("five", "dst", uploadId, 1, r -> { }));
      assertTrue(s3.listParts(r -> r.bucket("files").key("dst").uploadId(uploadId)).parts().isEmpty());
      copyPart("five", "dst", uploadId, 1, r -> r.copySourceRange("bytes=1-3")); // three bytes fit
    } finally {
      reads.release(taken);
    }
    io.mailgate.testing.Await.until(() -> reads.held() == 0, java.time.Duration.ofSeconds(5));
    assertEquals("\"" + md5(utf8("234")) + "\"", s3.listParts(r -> r.bucket("files").key("dst")
        .uploadId(uploadId)).parts().get(0).eTag());
  }

  /** The SDK's multipart client copies an object above its threshold (8 MiB) a part at a time. */
  @Test
  void theSdksMultipartCopyCopiesByParts() throws Exception {
    byte[] source = random(12 * MIB, 8);
    s3.putObject(r -> r.bucket("files").key("big-src"), RequestBody.fromBytes(source));
    try (S3AsyncClient client = S3AsyncClient.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1).multipartEnabled(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).build()) {
      String etag = client.copyObject(r -> r.sourceBucket("files").sourceKey("big-src").destinationBucket("files")
          .destinationKey("big-dst")).get().copyObjectResult().eTag();
      assertEquals(multipartEtag(Arrays.copyOf(source, (int) (8 * MIB)),
          Arrays.copyOfRange(source, (int) (8 * MIB), source.length)), etag);
    }
    assertArrayEquals(source, s3.getObjectAsBytes(r -> r.bucket("files").key("big-dst")).asByteArray());
  }
}
