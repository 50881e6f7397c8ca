package io.mailgate.api.s3;

/**
 * The errors the S3 API answers, with S3's codes, statuses and default messages (Amazon S3 API Reference, "Error
 * responses"), so that an S3 client raises what it would raise against S3 ({@code NoSuchKeyException} for
 * {@link #NO_SUCH_KEY}, a clock correction for {@link #REQUEST_TIME_TOO_SKEWED}).
 */
enum S3Error {
  ACCESS_DENIED("AccessDenied", 403, "Access Denied"),
  /** A browser's preflight that no CORS rule of the bucket allows. */
  ACCESS_FORBIDDEN("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed."),
  ACCESS_CONTROL_LIST_NOT_SUPPORTED("AccessControlListNotSupported", 400, "The bucket does not allow ACLs"),
  INVALID_BUCKET_ACL_WITH_OBJECT_OWNERSHIP("InvalidBucketAclWithObjectOwnership", 400,
      "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"),
  AUTHORIZATION_HEADER_MALFORMED("AuthorizationHeaderMalformed", 400, "The authorization header is malformed."),
  AUTHORIZATION_QUERY_PARAMETERS_ERROR("AuthorizationQueryParametersError", 400,
      "Error parsing the X-Amz-Credential parameter."),
  BUCKET_NOT_EMPTY("BucketNotEmpty", 409, "The bucket you tried to delete is not empty"),
  TOO_MANY_BUCKETS("TooManyBuckets", 400, "You have attempted to create more buckets than allowed"),
  BAD_REQUEST("BadRequest", 400, "Bad Request"),
  BAD_DIGEST("BadDigest", 400, "The Content-MD5 you specified did not match what we received."),
  CONTENT_SHA256_MISMATCH("XAmzContentSHA256Mismatch", 400,
      "The provided 'x-amz-content-sha256' header does not match what was computed."),
  ENTITY_TOO_SMALL("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."),
  ENTITY_TOO_LARGE("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."),
  INCOMPLETE_BODY("IncompleteBody", 400,
      "You did not provide the number of bytes specified by the Content-Length HTTP header."),
  INVALID_DIGEST("InvalidDigest", 400, "The Content-MD5 you specified is not valid."),
  INVALID_REQUEST("InvalidRequest", 400, "Invalid Request"),
  MISSING_CONTENT_LENGTH("MissingContentLength", 411, "You must provide the Content-Length HTTP header."),
  INTERNAL_ERROR("InternalError", 500, "We encountered an internal error. Please try again."),
  INVALID_ACCESS_KEY_ID("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
  INVALID_ARGUMENT("InvalidArgument", 400, "Invalid Argument"),
  INVALID_BUCKET_NAME("InvalidBucketName", 400, "The specified bucket is not valid."),
  INVALID_PART("InvalidPart", 400, "One or more of the specified parts could not be found.  The part may not have "
      + "been uploaded, or the specified entity tag may not match the part's entity tag."),
  INVALID_PART_ORDER("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by "
      + "part number."),
  INVALID_PART_NUMBER("InvalidPartNumber", 416, "The requested partnumber is not satisfiable"),
  INVALID_TAG("InvalidTag", 400, "The tag provided was not a valid tag."),
  INVALID_RANGE("InvalidRange", 416, "The requested range is not satisfiable"),
  INVALID_URI("InvalidURI", 400, "Couldn't parse the specified URI."),
  KEY_TOO_LONG("KeyTooLongError", 400, "Your key is too long"),
  MALFORMED_POST_REQUEST("MalformedPOSTRequest", 400,
      "The body of your POST request is not well-formed multipart/form-data."),
  MAX_POST_PRE_DATA_LENGTH_EXCEEDED("MaxPostPreDataLengthExceededError", 400,
      "Your POST request fields preceding the upload file were too large."),
  INVALID_POLICY_DOCUMENT("InvalidPolicyDocument", 400,
      "The content of the form does not meet the conditions specified in the policy document."),
  MALFORMED_XML("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our "
      + "published schema"),
  METADATA_TOO_LARGE("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."),
  METHOD_NOT_ALLOWED("MethodNotAllowed", 405, "The specified method is not allowed against this resource."),
  NO_SUCH_BUCKET("NoSuchBucket", 404, "The specified bucket does not exist"),
  NO_SUCH_KEY("NoSuchKey", 404, "The specified key does not exist."),
  NO_SUCH_BUCKET_POLICY("NoSuchBucketPolicy", 404, "The bucket policy does not exist"),
  NO_SUCH_CORS_CONFIGURATION("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"),
  NO_SUCH_LIFECYCLE_CONFIGURATION("NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist"),
  NO_SUCH_TAG_SET("NoSuchTagSet", 404, "The TagSet does not exist"),
  NO_ENCRYPTION_CONFIGURATION("ServerSideEncryptionConfigurationNotFoundError", 404,
      "The server side encryption configuration was not found"),
  NO_SUCH_WEBSITE_CONFIGURATION("NoSuchWebsiteConfiguration", 404,
      "The specified bucket does not have a website configuration"),
  NO_PUBLIC_ACCESS_BLOCK("NoSuchPublicAccessBlockConfiguration", 404,
      "The public access block configuration was not found"),
  NO_REPLICATION_CONFIGURATION("ReplicationConfigurationNotFoundError", 404,
      "The replication configuration was not found"),
  NO_OBJECT_LOCK_CONFIGURATION("ObjectLockConfigurationNotFoundError", 404,
      "Object Lock configuration does not exist for this bucket"),
  NO_SUCH_UPLOAD("NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or the "
      + "upload may have been aborted or completed."),
  NOT_IMPLEMENTED("NotImplemented", 501, "A header you provided implies functionality that is not implemented"),
  PRECONDITION_FAILED("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"),
  REQUEST_TIME_TOO_SKEWED("RequestTimeTooSkewed", 403,
      "The difference between the request time and the current time is too large."),
  SLOW_DOWN("SlowDown", 503, "Please reduce your request rate."),
  SIGNATURE_DOES_NOT_MATCH("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the "
      + "signature you provided. Check your key and signing method.");

  final String code;
  final int status;
  final String message;

  S3Error(String code, int status, String message) {
    this.code = code;
    this.status = status;
    this.message = message;
  }
}
