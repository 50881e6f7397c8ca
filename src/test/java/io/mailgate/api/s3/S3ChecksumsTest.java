package io.mailgate.api.s3;

import static io.mailgate.api.s3.S3MultipartTest.MIB;
import static io.mailgate.api.s3.S3MultipartTest.crc32;
import static io.mailgate.api.s3.S3MultipartTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.ChecksumMode;
import software.amazon.awssdk.services.s3.model.ChecksumType;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectAttributesResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectAttributes;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * An object keeps the checksum it was written with, and gives it back to a client that asks for it
 * ({@code x-amz-checksum-mode: ENABLED}: boto3 and the AWS CLI on every GetObject by default, the SDK for Java when
 * its request says so), which then checks the bytes it read against it: PutObject's, a completed upload's (composite
 * or of the full object), a copy's source's. Bytes changed in storage after they were written are caught by the
 * client. Not for a range, as in S3.
 */
class S3ChecksumsTest extends S3NodeTest {
  static HeadObjectResponse head(String key) {
    return s3.headObject(r -> r.bucket("sums").key(key).checksumMode(ChecksumMode.ENABLED));
  }

  static ResponseBytes<GetObjectResponse> get(String key) {
    return s3.getObjectAsBytes(r -> r.bucket("sums").key(key).checksumMode(ChecksumMode.ENABLED));
  }

  @Test
  void aPutsChecksumIsGivenBackAndTheSdkChecksWhatItReadsAgainstIt() {
    byte[] content = random(300_000, 1);
    s3.putObject(r -> r.bucket("sums").key("c32c").checksumAlgorithm(ChecksumAlgorithm.CRC32_C),
        RequestBody.fromBytes(content));
    String expected = Checksums.of("crc32c", content);
    HeadObjectResponse head = head("c32c");
    assertEquals(expected, head.checksumCRC32C());
    assertEquals(ChecksumType.FULL_OBJECT, head.checksumType());
    // asked for, the SDK checks the bytes it read against it
    ResponseBytes<GetObjectResponse> got = get("c32c");
    assertArrayEquals(content, got.asByteArray());
    assertEquals(expected, got.response().checksumCRC32C());
    // not asked for, not given; nor for a range (as S3)
    assertNull(s3.headObject(r -> r.bucket("sums").key("c32c")).checksumCRC32C());
    ResponseBytes<GetObjectResponse> range = s3.getObjectAsBytes(r -> r.bucket("sums").key("c32c")
        .range("bytes=0-9").checksumMode(ChecksumMode.ENABLED));
    assertEquals(10, range.asByteArray().length);
    assertNull(range.response().checksumCRC32C());
    // the SDK's default upload sends a CRC32, kept as any other
    s3.putObject(r -> r.bucket("sums").key("default"), RequestBody.fromString("default"));
    assertEquals(crc32("default".getBytes(StandardCharsets.UTF_8)), head("default").checksumCRC32());

    // bytes changed where they are stored, after they were written: the client's check fails
    Db.execute(pg, "UPDATE received_objects SET content = overlay(content PLACING '\\x00'::bytea FROM 1000) "
        + "WHERE object_key = 'c32c'");
    SdkClientException caught = assertThrows(SdkClientException.class, () -> get("c32c"));
    assertTrue(caught.getMessage().toLowerCase().contains("checksum"), caught.toString());
  }

  @Test
  void anObjectWrittenWithoutOneHasNoneAndAWriteWithoutOneReplacesIt() {
    try (S3Client bare = S3Client.builder().endpointOverride(URI.create(node.endpoint() + S3Api.PATH))
        .forcePathStyle(true).region(Region.US_EAST_1).httpClient(UrlConnectionHttpClient.create())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(TestNode.ACCESS_KEY,
            TestNode.SECRET))).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build()) {
      s3.putObject(r -> r.bucket("sums").key("k").checksumAlgorithm(ChecksumAlgorithm.SHA256),
          RequestBody.fromString("first"));
      assertNotNull(head("k").checksumSHA256());
      bare.putObject(r -> r.bucket("sums").key("k"), RequestBody.fromString("second"));
      HeadObjectResponse head = head("k");
      assertNull(head.checksumSHA256());
      assertNull(head.checksumCRC32());
      assertNull(head.checksumType());
      assertEquals("second", get("k").asUtf8String());
    }
  }

  @Test
  void aCompletedUploadsChecksumIsTheObjectsAndACopyKeepsOnlyAFullObjectsOne() throws Exception {
    // composite: the CRC32 of the parts' CRC32s, a dash and their count (the SDK does not check such a one)
    byte[] a = random(5 * MIB, 2);
    byte[] b = "end".getBytes(StandardCharsets.UTF_8);
    String uploadId = s3.createMultipartUpload(r -> r.bucket("sums").key("composite")
        .checksumAlgorithm(ChecksumAlgorithm.CRC32)).uploadId();
    UploadPartResponse p1 = s3.uploadPart(r -> r.bucket("sums").key("composite").uploadId(uploadId).partNumber(1)
        .checksumAlgorithm(ChecksumAlgorithm.CRC32), RequestBody.fromBytes(a));
    UploadPartResponse p2 = s3.uploadPart(r -> r.bucket("sums").key("composite").uploadId(uploadId).partNumber(2)
        .checksumAlgorithm(ChecksumAlgorithm.CRC32), RequestBody.fromBytes(b));
    String composite = s3.completeMultipartUpload(r -> r.bucket("sums").key("composite").uploadId(uploadId)
        .multipartUpload(m -> m.parts(
            CompletedPart.builder().partNumber(1).eTag(p1.eTag()).checksumCRC32(p1.checksumCRC32()).build(),
            CompletedPart.builder().partNumber(2).eTag(p2.eTag()).checksumCRC32(p2.checksumCRC32()).build())))
        .checksumCRC32();
    assertTrue(composite.endsWith("-2"), composite);
    assertEquals(composite, head("composite").checksumCRC32());
    assertEquals(ChecksumType.COMPOSITE, head("composite").checksumType());
    ByteArrayOutputStream whole = new ByteArrayOutputStream();
    whole.writeBytes(a);
    whole.writeBytes(b);
    assertArrayEquals(whole.toByteArray(), get("composite").asByteArray());

    // of the full object (CRC64NVME's only type): the SDK checks what it reads against it
    String full = s3.createMultipartUpload(r -> r.bucket("sums").key("full")
        .checksumAlgorithm(ChecksumAlgorithm.CRC64_NVME)).uploadId();
    UploadPartResponse f1 = s3.uploadPart(r -> r.bucket("sums").key("full").uploadId(full).partNumber(1)
        .checksumAlgorithm(ChecksumAlgorithm.CRC64_NVME), RequestBody.fromBytes(a));
    UploadPartResponse f2 = s3.uploadPart(r -> r.bucket("sums").key("full").uploadId(full).partNumber(2)
        .checksumAlgorithm(ChecksumAlgorithm.CRC64_NVME), RequestBody.fromBytes(b));
    s3.completeMultipartUpload(r -> r.bucket("sums").key("full").uploadId(full).multipartUpload(m -> m.parts(
        CompletedPart.builder().partNumber(1).eTag(f1.eTag()).checksumCRC64NVME(f1.checksumCRC64NVME()).build(),
        CompletedPart.builder().partNumber(2).eTag(f2.eTag()).checksumCRC64NVME(f2.checksumCRC64NVME()).build())));
    String crc64 = Checksums.of("crc64nvme", whole.toByteArray());
    assertEquals(crc64, head("full").checksumCRC64NVME());
    assertEquals(ChecksumType.FULL_OBJECT, head("full").checksumType());
    assertEquals(crc64, get("full").response().checksumCRC64NVME());

    // a copy is one part: a full object's checksum is its too, a composite one is not
    assertEquals(crc64, s3.copyObject(r -> r.sourceBucket("sums").sourceKey("full").destinationBucket("sums")
        .destinationKey("full-copy")).copyObjectResult().checksumCRC64NVME());
    assertEquals(crc64, head("full-copy").checksumCRC64NVME());
    s3.copyObject(r -> r.sourceBucket("sums").sourceKey("composite").destinationBucket("sums")
        .destinationKey("composite-copy"));
    assertNull(head("composite-copy").checksumCRC32());
    assertArrayEquals(whole.toByteArray(), get("composite-copy").asByteArray());
    // listed with their algorithms and types, as S3 lists them
    java.util.Map<String, String> listed = new java.util.TreeMap<>();
    s3.listObjectsV2(r -> r.bucket("sums")).contents().forEach(o -> listed.put(o.key(),
        o.checksumAlgorithmAsStrings() + " " + o.checksumTypeAsString()));
    assertEquals(java.util.Map.of("composite", "[CRC32] COMPOSITE", "composite-copy", "[] null",
        "full", "[CRC64NVME] FULL_OBJECT", "full-copy", "[CRC64NVME] FULL_OBJECT"), listed);
  }

  /**
   * An object completed from an upload with a checksum algorithm keeps its parts' checksums: a part read with
   * {@code partNumber} comes with its own, which the SDK checks the part against, and GetObjectAttributes lists the
   * parts with theirs, by page, as S3 does.
   */
  @Test
  void aCompletedObjectsPartsKeepTheirChecksums() {
    byte[] a = random(5 * MIB, 3);
    byte[] b = random(5 * MIB, 4);
    byte[] c = "tail".getBytes(StandardCharsets.UTF_8);
    String uploadId = s3.createMultipartUpload(r -> r.bucket("sums").key("parts")
        .checksumAlgorithm(ChecksumAlgorithm.SHA256)).uploadId();
    java.util.List<CompletedPart> done = new java.util.ArrayList<>();
    byte[][] contents = {a, b, c};
    for (int i = 0; i < 3; i++) {
      int number = i + 1;
      byte[] content = contents[i];
      UploadPartResponse p = s3.uploadPart(r -> r.bucket("sums").key("parts").uploadId(uploadId).partNumber(number)
          .checksumAlgorithm(ChecksumAlgorithm.SHA256), RequestBody.fromBytes(content));
      assertEquals(Checksums.of("sha256", content), p.checksumSHA256());
      done.add(CompletedPart.builder().partNumber(number).eTag(p.eTag()).checksumSHA256(p.checksumSHA256()).build());
    }
    s3.completeMultipartUpload(r -> r.bucket("sums").key("parts").uploadId(uploadId)
        .multipartUpload(m -> m.parts(done)));

    // part 2, with its checksum: the SDK checks the bytes it read against it
    ResponseBytes<GetObjectResponse> part = s3.getObjectAsBytes(r -> r.bucket("sums").key("parts").partNumber(2)
        .checksumMode(ChecksumMode.ENABLED));
    assertArrayEquals(b, part.asByteArray());
    assertEquals(Checksums.of("sha256", b), part.response().checksumSHA256());
    assertEquals(ChecksumType.COMPOSITE, part.response().checksumType());
    assertEquals(Checksums.of("sha256", c), s3.headObject(r -> r.bucket("sums").key("parts").partNumber(3)
        .checksumMode(ChecksumMode.ENABLED)).checksumSHA256());
    assertNull(s3.headObject(r -> r.bucket("sums").key("parts").partNumber(3)).checksumSHA256(), "not asked for");
    // a part's bytes changed where they are stored: the client's check of that part fails
    long changed = 5 * MIB + 99;
    Db.execute(pg, "UPDATE received_objects SET content = set_byte(content, " + changed + ", 255 - get_byte(content, "
        + changed + ")) WHERE object_key = 'parts'");
    SdkClientException caught = assertThrows(SdkClientException.class, () -> s3.getObjectAsBytes(r -> r
        .bucket("sums").key("parts").partNumber(2).checksumMode(ChecksumMode.ENABLED)));
    assertTrue(caught.getMessage().toLowerCase().contains("checksum"), caught.toString());

    GetObjectAttributesResponse attributes = s3.getObjectAttributes(r -> r.bucket("sums").key("parts")
        .objectAttributes(ObjectAttributes.E_TAG, ObjectAttributes.CHECKSUM, ObjectAttributes.OBJECT_PARTS,
            ObjectAttributes.OBJECT_SIZE, ObjectAttributes.STORAGE_CLASS).maxParts(2));
    assertEquals(head("parts").eTag(), "\"" + attributes.eTag() + "\"");
    assertEquals(10L * MIB + 4, attributes.objectSize());
    assertEquals(head("parts").checksumSHA256(), attributes.checksum().checksumSHA256());
    assertEquals(ChecksumType.COMPOSITE, attributes.checksum().checksumType());
    assertEquals(3, attributes.objectParts().totalPartsCount());
    assertTrue(attributes.objectParts().isTruncated());
    assertEquals(java.util.List.of("1:" + 5 * MIB + ":" + Checksums.of("sha256", a), "2:" + 5 * MIB + ":"
        + Checksums.of("sha256", b)), attributes.objectParts().parts().stream().map(p -> p.partNumber() + ":"
        + p.size() + ":" + p.checksumSHA256()).toList());
    GetObjectAttributesResponse rest = s3.getObjectAttributes(r -> r.bucket("sums").key("parts")
        .objectAttributes(ObjectAttributes.OBJECT_PARTS).partNumberMarker(attributes.objectParts()
            .nextPartNumberMarker()));
    assertEquals(java.util.List.of(3), rest.objectParts().parts().stream().map(p -> p.partNumber()).toList());
    assertEquals(false, rest.objectParts().isTruncated());
    assertNull(rest.eTag(), "not asked for");

    // an object put whole: no parts, its checksum if it has one
    s3.putObject(r -> r.bucket("sums").key("whole").checksumAlgorithm(ChecksumAlgorithm.CRC32),
        RequestBody.fromString("whole"));
    GetObjectAttributesResponse whole = s3.getObjectAttributes(r -> r.bucket("sums").key("whole")
        .objectAttributes(ObjectAttributes.OBJECT_PARTS, ObjectAttributes.CHECKSUM, ObjectAttributes.OBJECT_SIZE));
    assertNull(whole.objectParts());
    assertEquals(crc32("whole".getBytes(StandardCharsets.UTF_8)), whole.checksum().checksumCRC32());
    assertEquals(5L, whole.objectSize());
    assertThrows(software.amazon.awssdk.services.s3.model.NoSuchKeyException.class, () -> s3.getObjectAttributes(r -> r
        .bucket("sums").key("none").objectAttributes(ObjectAttributes.E_TAG)));

    // what it is asked is S3's, or refused
    S3Exception none = assertThrows(S3Exception.class, () -> s3.getObjectAttributes(r -> r.bucket("sums").key("parts")
        .objectAttributesWithStrings(java.util.List.of())));
    assertEquals("InvalidRequest", none.awsErrorDetails().errorCode(), none.toString());
    S3Exception unknown = assertThrows(S3Exception.class, () -> s3.getObjectAttributes(r -> r.bucket("sums")
        .key("parts").objectAttributesWithStrings("ETag", "Owner")));
    assertEquals("InvalidArgument", unknown.awsErrorDetails().errorCode(), unknown.toString());
    S3Exception negative = assertThrows(S3Exception.class, () -> s3.getObjectAttributes(r -> r.bucket("sums")
        .key("parts").objectAttributes(ObjectAttributes.E_TAG).maxParts(-1)));
    assertEquals("InvalidArgument", negative.awsErrorDetails().errorCode(), negative.toString());
    S3Exception marker = assertThrows(S3Exception.class, () -> s3.getObjectAttributes(r -> r.bucket("sums")
        .key("parts").objectAttributes(ObjectAttributes.E_TAG)
        .overrideConfiguration(o -> o.putHeader("x-amz-part-number-marker", "x"))));
    assertEquals("InvalidArgument", marker.awsErrorDetails().errorCode(), marker.toString());
  }
}
