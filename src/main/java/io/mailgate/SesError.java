package io.mailgate;

/**
 * The errors Mailgate answers, named and numbered as SES names them: the v2 REST API puts
 * {@link #v2Type} in {@code x-amzn-ErrorType}; the v1 Query API puts {@link #v1Code} in its
 * {@code <ErrorResponse>}.
 */
public enum SesError {
  BAD_REQUEST("BadRequestException", "InvalidParameterValue", 400, false),
  MESSAGE_REJECTED("MessageRejected", "MessageRejected", 400, false),
  /** A template that does not compile. */
  INVALID_TEMPLATE("BadRequestException", "InvalidTemplate", 400, false),
  /** A template that names an attribute the rendering data does not have. */
  MISSING_RENDERING_ATTRIBUTE("BadRequestException", "MissingRenderingAttribute", 400, false),
  /** Rendering data that is not a JSON object, or too large. */
  INVALID_RENDERING_PARAMETER("BadRequestException", "InvalidRenderingParameter", 400, false),
  NOT_FOUND("NotFoundException", "NotFound", 404, false),
  /**
   * A NextToken that is not one Mailgate gave out, where SES documents an error of its own for it (v2's
   * ListSuppressedDestinations only; the other list operations answer BadRequestException). v1 has no such operation.
   */
  INVALID_NEXT_TOKEN("InvalidNextTokenException", "InvalidParameterValue", 400, false),
  /** A template that does not exist: v1 has a code of its own for it. */
  TEMPLATE_NOT_FOUND("NotFoundException", "TemplateDoesNotExist", 404, false),
  /** A configuration set that does not exist: v1 has a code of its own for it. */
  CONFIGURATION_SET_NOT_FOUND("NotFoundException", "ConfigurationSetDoesNotExist", 404, false),
  TOO_MANY_REQUESTS("TooManyRequestsException", "Throttling", 429, true),
  LIMIT_EXCEEDED("LimitExceededException", "LimitExceeded", 400, false),
  SENDING_PAUSED("SendingPausedException", "AccountSendingPausedException", 400, false),
  MISSING_AUTHENTICATION_TOKEN("MissingAuthenticationTokenException", "MissingAuthenticationToken", 403, false),
  /** The Query protocol answers these two with 400 (SigV4Error has the table). */
  INCOMPLETE_SIGNATURE("IncompleteSignatureException", "IncompleteSignature", 403, 400, false),
  UNRECOGNIZED_CLIENT("UnrecognizedClientException", "InvalidClientTokenId", 403, false),
  SIGNATURE_DOES_NOT_MATCH("SignatureDoesNotMatch", "SignatureDoesNotMatch", 403, false),
  REQUEST_EXPIRED("SignatureDoesNotMatch", "RequestExpired", 403, 400, false),
  ALREADY_EXISTS("AlreadyExistsException", "AlreadyExists", 400, false),
  /** A configuration set's name taken: v1 has a code of its own for it. */
  CONFIGURATION_SET_ALREADY_EXISTS("AlreadyExistsException", "ConfigurationSetAlreadyExists", 400, false),
  MAIL_FROM_DOMAIN_NOT_VERIFIED("MailFromDomainNotVerifiedException", "MailFromDomainNotVerifiedException", 400, false),
  CONFLICT("ConflictException", "Conflict", 409, false),
  /** v1 has codes of its own for an event destination that exists already, or does not. */
  EVENT_DESTINATION_ALREADY_EXISTS("AlreadyExistsException", "EventDestinationAlreadyExists", 400, false),
  EVENT_DESTINATION_NOT_FOUND("NotFoundException", "EventDestinationDoesNotExist", 404, false),
  /** A tracking domain that is not a host name of the account's: v1 has a code of its own for it. */
  INVALID_TRACKING_OPTIONS("BadRequestException", "InvalidTrackingOptions", 400, false),
  /**
   * An event destination v1 cannot take has a code of its own per kind of destination: an SNS destination whose topic
   * (the webhook's URL here) is not one, and the CloudWatch and Firehose destinations a node cannot publish to. SES
   * v2 has no such codes and answers BadRequestException.
   */
  INVALID_SNS_DESTINATION("BadRequestException", "InvalidSNSDestination", 400, false),
  INVALID_CLOUDWATCH_DESTINATION("BadRequestException", "InvalidCloudWatchDestination", 400, false),
  INVALID_FIREHOSE_DESTINATION("BadRequestException", "InvalidFirehoseDestination", 400, false),
  /** v1's codes for a configuration set name CreateConfigurationSet cannot take, and for a TlsPolicy that is none. */
  INVALID_CONFIGURATION_SET("BadRequestException", "InvalidConfigurationSet", 400, false),
  INVALID_DELIVERY_OPTIONS("BadRequestException", "InvalidDeliveryOptions", 400, false),
  /** v1 only: CreateConfigurationSetTrackingOptions for a set that has them. */
  TRACKING_OPTIONS_ALREADY_EXIST("AlreadyExistsException", "TrackingOptionsAlreadyExistsException", 400, false),
  /** v1 only: updating or deleting the tracking options of a set that has none. */
  TRACKING_OPTIONS_NOT_FOUND("NotFoundException", "TrackingOptionsDoesNotExistException", 404, false),
  /** v2 has no code of its own for a paused configuration set: SendingPausedException, as SES answers. */
  CONFIGURATION_SET_SENDING_PAUSED("SendingPausedException", "ConfigurationSetSendingPausedException", 400, false),
  /** Receiving (v1 only): a receipt rule set or rule that does not exist. */
  RULE_SET_NOT_FOUND("NotFoundException", "RuleSetDoesNotExist", 404, false),
  RULE_NOT_FOUND("NotFoundException", "RuleDoesNotExist", 404, false),
  /** Receiving: an action's topic (a webhook URL here) or bucket that cannot be used. */
  INVALID_SNS_TOPIC("BadRequestException", "InvalidSnsTopic", 400, false),
  INVALID_S3_CONFIGURATION("BadRequestException", "InvalidS3Configuration", 400, false),
  INVALID_LAMBDA_FUNCTION("BadRequestException", "InvalidLambdaFunction", 400, false),
  /** Receiving: deleting the active receipt rule set. */
  CANNOT_DELETE("BadRequestException", "CannotDelete", 400, false),
  /** Custom verification email templates: v1 has codes of their own. */
  CUSTOM_VERIFICATION_TEMPLATE_ALREADY_EXISTS("AlreadyExistsException", "CustomVerificationEmailTemplateAlreadyExists",
      400, false),
  CUSTOM_VERIFICATION_TEMPLATE_NOT_FOUND("NotFoundException", "CustomVerificationEmailTemplateDoesNotExist", 404,
      false),
  CUSTOM_VERIFICATION_INVALID_CONTENT("BadRequestException", "CustomVerificationEmailInvalidContent", 400, false),
  /** A custom verification template's From that is not a verified identity of the account. */
  FROM_EMAIL_ADDRESS_NOT_VERIFIED("BadRequestException", "FromEmailAddressNotVerified", 400, false),
  /** An operation that only accounts out of the sandbox may use (SendCustomVerificationEmail). */
  PRODUCTION_ACCESS_NOT_GRANTED("BadRequestException", "ProductionAccessNotGranted", 400, false),
  /** A sending authorization policy that is not one SES would take. */
  INVALID_POLICY("BadRequestException", "InvalidPolicy", 400, false),
  /**
   * A send from another account's identity that its policies do not allow: SES answers AccessDenied (403), as IAM
   * does, with "User `...' is not authorized to perform `ses:SendEmail' on resource `...'".
   */
  ACCESS_DENIED("AccessDeniedException", "AccessDenied", 403, false),
  UNKNOWN_OPERATION("UnknownOperationException", "InvalidAction", 404, false),
  /**
   * v1 only: a Query request with no Action at all, which SES's common errors tell apart from an Action it does not
   * know (InvalidAction).
   */
  MISSING_ACTION("BadRequestException", "MissingAction", 400, false),
  METHOD_NOT_ALLOWED("MethodNotAllowedException", "InvalidAction", 405, false),
  /**
   * The ACM-compatible endpoint's errors (certificates for S/MIME signing), with ACM's types: a certificate, key or
   * parameter it cannot take, an ARN that is not a certificate's, one that is not there, one still in use, too many.
   */
  ACM_VALIDATION("ValidationException", "ValidationException", 400, false),
  ACM_INVALID_ARN("InvalidArnException", "InvalidArnException", 400, false),
  ACM_NOT_FOUND("ResourceNotFoundException", "ResourceNotFoundException", 400, false),
  ACM_IN_USE("ResourceInUseException", "ResourceInUseException", 400, false),
  ACM_LIMIT_EXCEEDED("LimitExceededException", "LimitExceededException", 400, false),
  SERVICE_UNAVAILABLE("ServiceUnavailable", "ServiceUnavailable", 503, true),
  INTERNAL_FAILURE("InternalFailure", "InternalFailure", 500, true);

  public final String v2Type;
  public final String v1Code;
  public final int status;
  public final boolean retryable;
  private final int v1Status;

  /**
   * The HTTP status the v1 Query API answers with: 400 for every client error but a failed authentication (403),
   * as SES's Query endpoint does; a server error keeps its own.
   */
  public int v1Status() {
    return v1Status;
  }

  SesError(String v2Type, String v1Code, int status, boolean retryable) {
    this(v2Type, v1Code, status, status >= 500 || status == 403 ? status : 400, retryable);
  }

  SesError(String v2Type, String v1Code, int status, int v1Status, boolean retryable) {
    this.v1Status = v1Status;
    this.v2Type = v2Type;
    this.v1Code = v1Code;
    this.status = status;
    this.retryable = retryable;
  }
}
