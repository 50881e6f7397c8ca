package io.mailgate.api.s3;

import io.mailgate.identity.Account;
import java.util.List;
import java.util.function.Function;
import javax.xml.stream.XMLStreamConstants;

/**
 * Access control lists, as S3 has them for a bucket whose Object Ownership is BucketOwnerEnforced (the default of every
 * bucket made since April 2023): disabled. Everything is its owner's, the account's (another account never sees it),
 * so an ACL read is the owner's full control, a write may ask for that ({@code x-amz-acl: private} or
 * {@code bucket-owner-full-control}, what rclone sends by default) and for nothing else: a canned ACL that would grant
 * others ({@code public-read}...), an {@code x-amz-grant-*} header or a document granting anyone else is refused as
 * S3 refuses it (AccessControlListNotSupported for an object, InvalidBucketAclWithObjectOwnership for CreateBucket),
 * nothing written. Plain Java.
 */
final class Acls {
  /** The canned ACLs that grant no one but the owner. */
  static final List<String> OWNER_ONLY = List.of("private", "bucket-owner-full-control");
  static final List<String> GRANTS = List.of("x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp",
      "x-amz-grant-write", "x-amz-grant-write-acp");

  /** An ACL document: S3 takes 64 KB. */
  static final long MAX_DOCUMENT_BYTES = 64 * 1024;

  private Acls() {}

  /**
   * Whether an {@code AccessControlPolicy} document (PutObjectAcl's, PutBucketAcl's) grants what there is and nothing
   * else: one grant or more, each FULL_CONTROL to the canonical user {@code ownerId}, its owner (if named) that user
   * too. A group's or an address's grant, another user's, another permission: false. MalformedXML for what is not
   * such a document.
   */
  static boolean onlyOwner(byte[] document, String ownerId) {
    return S3Xml.read(document, "AccessControlPolicy", r -> {
      boolean owner = true;
      int grants = 0;
      boolean inOwner = false;
      boolean inGrantee = false;
      String grantee = null;
      String type = null;
      String permission = null;
      while (r.hasNext()) {
        int event = r.next();
        if (event == XMLStreamConstants.START_ELEMENT) {
          switch (r.getLocalName()) {
            case "Owner" -> inOwner = true;
            case "Grant" -> {
              grantee = null;
              type = null;
              permission = null;
            }
            case "Grantee" -> {
              inGrantee = true;
              type = r.getAttributeValue(XSI, "type");
            }
            case "ID" -> {
              String id = r.getElementText().strip();
              if (inGrantee) {
                grantee = id;
              } else if (inOwner && !id.equals(ownerId)) {
                owner = false;
              }
            }
            case "URI", "EmailAddress" -> {
              r.getElementText();
              if (inGrantee) {
                grantee = null; // a group or an address: not the owner, whatever else it names
                type = "other";
              }
            }
            case "Permission" -> permission = r.getElementText().strip();
            default -> { }
          }
        } else if (event == XMLStreamConstants.END_ELEMENT) {
          switch (r.getLocalName()) {
            case "Owner" -> inOwner = false;
            case "Grantee" -> inGrantee = false;
            case "Grant" -> {
              if (!"CanonicalUser".equals(type) || !ownerId.equals(grantee) || !"FULL_CONTROL".equals(permission)) {
                owner = false;
              }
              grants++;
            }
            default -> { }
          }
        }
      }
      return owner && grants > 0;
    });
  }

  private static final String XSI = "http://www.w3.org/2001/XMLSchema-instance";

  /** Whether a write's headers ask for no ACL but the owner's full control. */
  static boolean ownerOnly(Function<String, String> header) {
    String canned = header.apply("x-amz-acl");
    return (canned == null || OWNER_ONLY.contains(canned.strip())) && GRANTS.stream().allMatch(g -> header.apply(g)
        == null);
  }

  /** Refuses a write of an object (PutObject, CreateMultipartUpload, CopyObject) whose headers ask for another ACL. */
  static void refuseForObject(Function<String, String> header) {
    if (!ownerOnly(header)) {
      throw new S3Exception(S3Error.ACCESS_CONTROL_LIST_NOT_SUPPORTED);
    }
  }

  /** Refuses a CreateBucket whose headers ask for another ACL than its owner's. */
  static void refuseForBucket(Function<String, String> header) {
    if (!ownerOnly(header)) {
      throw new S3Exception(S3Error.INVALID_BUCKET_ACL_WITH_OBJECT_OWNERSHIP);
    }
  }

  /** GetObjectAcl's and GetBucketAcl's {@code AccessControlPolicy}: the owner, with full control. */
  static String policy(Account owner) {
    StringBuilder b = S3Xml.open("AccessControlPolicy").append("<Owner>");
    S3Xml.text(b, "ID", owner.id());
    S3Xml.text(b, "DisplayName", owner.name());
    b.append("</Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        + "xsi:type=\"CanonicalUser\">");
    S3Xml.text(b, "ID", owner.id());
    S3Xml.text(b, "DisplayName", owner.name());
    return b.append("</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList>"
        + "</AccessControlPolicy>").toString();
  }
}
