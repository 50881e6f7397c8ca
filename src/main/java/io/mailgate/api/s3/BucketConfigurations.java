package io.mailgate.api.s3;

import java.util.List;
import java.util.Map;

/**
 * A bucket's configurations as a GET of one reads them ({@code GET /s3/{bucket}?location}, {@code ?versioning},
 * {@code ?policy}...). None is ever set here (a PUT of one is NotImplemented; CORS, kept, is {@link Cors}'s), so
 * each is answered as S3 answers it for a bucket that has none: tools that read them before they act (Terraform's
 * {@code aws_s3_bucket}, {@code mc}, s3cmd, the CLI's {@code get-bucket-location}) are told the truth, rather than
 * handed the bucket's listing. Those that list several configurations of a kind (analytics, inventory...) are
 * NotImplemented. Plain Java.
 */
final class BucketConfigurations {

  /**
   * Those answered with a document: the bucket's location (empty: us-east-1's, and the endpoint answers in every
   * region), versioning never enabled (objects are not versioned), no access logging, no notifications, no transfer
   * acceleration, requests paid by the bucket's owner, objects owned by it with ACLs disabled (BucketOwnerEnforced,
   * S3's default: {@link Acls}).
   */
  private static final Map<String, String> DOCUMENTS = Map.of(
      "location", "<LocationConstraint xmlns=\"" + S3Xml.NAMESPACE + "\"/>",
      "versioning", "<VersioningConfiguration xmlns=\"" + S3Xml.NAMESPACE + "\"/>",
      "logging", "<BucketLoggingStatus xmlns=\"" + S3Xml.NAMESPACE + "\"/>",
      "notification", "<NotificationConfiguration xmlns=\"" + S3Xml.NAMESPACE + "\"/>",
      "accelerate", "<AccelerateConfiguration xmlns=\"" + S3Xml.NAMESPACE + "\"/>",
      "requestPayment", "<RequestPaymentConfiguration xmlns=\"" + S3Xml.NAMESPACE
          + "\"><Payer>BucketOwner</Payer></RequestPaymentConfiguration>",
      "ownershipControls", "<OwnershipControls xmlns=\"" + S3Xml.NAMESPACE
          + "\"><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>");

  /** Those S3 answers 404 for when the bucket has none, with its code for each. */
  private static final Map<String, S3Error> ABSENT = Map.ofEntries(
      Map.entry("policy", S3Error.NO_SUCH_BUCKET_POLICY),
      Map.entry("policyStatus", S3Error.NO_SUCH_BUCKET_POLICY),
      Map.entry("lifecycle", S3Error.NO_SUCH_LIFECYCLE_CONFIGURATION),
      Map.entry("tagging", S3Error.NO_SUCH_TAG_SET),
      Map.entry("encryption", S3Error.NO_ENCRYPTION_CONFIGURATION),
      Map.entry("website", S3Error.NO_SUCH_WEBSITE_CONFIGURATION),
      Map.entry("publicAccessBlock", S3Error.NO_PUBLIC_ACCESS_BLOCK),
      Map.entry("replication", S3Error.NO_REPLICATION_CONFIGURATION),
      Map.entry("object-lock", S3Error.NO_OBJECT_LOCK_CONFIGURATION));

  /** The bucket's ACL: its owner's full control ({@link Acls#policy}), which names the account. */
  static final String ACL = "acl";

  /** Those of which a bucket may have several, listed by id: not kept, so not listed either. */
  private static final List<String> NOT_IMPLEMENTED = List.of("analytics", "metrics", "inventory",
      "intelligent-tiering", "metadataTable", "metadataConfiguration");

  private BucketConfigurations() {}

  /** The configuration a bucket's GET asks for by its parameters; null when it asks for none (it is a listing). */
  static String asked(Map<String, String> params) {
    for (String name : params.keySet()) {
      if (name.equals(ACL) || DOCUMENTS.containsKey(name) || ABSENT.containsKey(name)
          || NOT_IMPLEMENTED.contains(name)) {
        return name;
      }
    }
    return null;
  }

  /**
   * The configuration's document, as S3 writes it for a bucket without one; thrown, S3's error for one that a bucket
   * without it does not have (naming the bucket), or NotImplemented.
   */
  static String document(String name, String bucket) {
    String document = DOCUMENTS.get(name);
    if (document != null) {
      return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + document;
    }
    S3Error absent = ABSENT.get(name);
    throw absent != null ? new S3Exception(absent).with("BucketName", bucket)
        : new S3Exception(S3Error.NOT_IMPLEMENTED, "The bucket's '" + name + "' configuration is not implemented "
            + "here.");
  }
}
