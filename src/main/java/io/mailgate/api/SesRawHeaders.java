package io.mailgate.api;

import io.mailgate.SesException;
import io.mailgate.send.HeaderBlock;
import io.mailgate.send.MimeBuilder;
import io.mailgate.send.RawContent;
import io.mailgate.send.SendRequest;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * SES's headers for raw messages (the SMTP interface, and Raw content over the API as SendRawEmail):
 * {@code X-SES-CONFIGURATION-SET: name} picks the configuration set and {@code X-SES-MESSAGE-TAGS:
 * name1=value1, name2=value2} adds message tags, as SendEmail's ConfigurationSetName and EmailTags do;
 * {@code X-SES-LIST-MANAGEMENT-OPTIONS: listName; topic=topicName} (the topic optional) is SendEmail's
 * ListManagementOptions; {@code X-SES-SOURCE-ARN}, {@code X-SES-FROM-ARN} and {@code X-SES-RETURN-PATH-ARN} are
 * SendRawEmail's SourceArn, FromArn and ReturnPathArn (sending authorization); {@code X-SES-TENANT: name} is
 * SendEmail's TenantName. All are removed from the message before
 * it is stored and sent (they are instructions to the service, not content); every other byte stays as given.
 */
public final class SesRawHeaders {
  static final String CONFIGURATION_SET = "X-SES-CONFIGURATION-SET";
  static final String MESSAGE_TAGS = "X-SES-MESSAGE-TAGS";
  static final String LIST_MANAGEMENT = "X-SES-LIST-MANAGEMENT-OPTIONS";
  static final String SOURCE_ARN = "X-SES-SOURCE-ARN";
  static final String FROM_ARN = "X-SES-FROM-ARN";
  static final String RETURN_PATH_ARN = "X-SES-RETURN-PATH-ARN";
  static final String TENANT = "X-SES-TENANT";
  private static final List<String> ALL = List.of(CONFIGURATION_SET, MESSAGE_TAGS, LIST_MANAGEMENT, SOURCE_ARN,
      FROM_ARN, RETURN_PATH_ARN, TENANT);

  /** What the headers asked for, and the message without them. */
  record Extracted(String configurationSet, List<SendRequest.EmailTag> tags, SendRequest.ListManagement list,
      String sourceArn, String fromArn, String returnPathArn, String tenant, byte[] message) {}

  private SesRawHeaders() {}

  /** @throws SesException (BadRequest) when a tag is malformed or the set is named twice */
  static Extracted extract(byte[] original) {
    // header lines are found by their CRLF: a message written with bare LF gets them here (as it would before
    // sending anyway), or its SES headers would go out with it, unread
    byte[] message = MimeBuilder.crlf(original);
    HeaderBlock headers;
    try {
      headers = HeaderBlock.parse(message);
    } catch (IllegalArgumentException e) {
      return none(original); // the send path refuses malformed headers itself
    }
    boolean any = false;
    for (HeaderBlock.Field f : headers.fields()) {
      if (isSes(f)) {
        any = true;
        break;
      }
    }
    if (!any) {
      return none(original);
    }
    List<HeaderBlock.Field> sets = headers.all(CONFIGURATION_SET);
    List<HeaderBlock.Field> tagFields = headers.all(MESSAGE_TAGS);
    List<HeaderBlock.Field> lists = headers.all(LIST_MANAGEMENT);
    if (sets.size() > 1) {
      throw SesException.badRequest("The X-SES-CONFIGURATION-SET header may appear only once.");
    }
    if (lists.size() > 1) {
      throw SesException.badRequest("The X-SES-LIST-MANAGEMENT-OPTIONS header may appear only once.");
    }
    SendRequest.ListManagement list = lists.isEmpty() ? null : listManagement(headers.rawValue(lists.get(0)));
    String configurationSet = sets.isEmpty() ? null : headers.rawValue(sets.get(0));
    List<SendRequest.EmailTag> tags = new ArrayList<>();
    for (HeaderBlock.Field f : tagFields) {
      tags.addAll(tags(headers.rawValue(f)));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(message.length);
    int copied = 0;
    for (HeaderBlock.Field f : headers.fields()) {
      if (isSes(f)) {
        out.write(message, copied, f.start() - copied);
        copied = f.end();
      }
    }
    out.write(message, copied, message.length - copied);
    return new Extracted(configurationSet == null || configurationSet.isEmpty() ? null : configurationSet,
        List.copyOf(tags), list, arn(headers, SOURCE_ARN), arn(headers, FROM_ARN), arn(headers, RETURN_PATH_ARN),
        arn(headers, TENANT), out.toByteArray());
  }

  private static Extracted none(byte[] original) {
    return new Extracted(null, List.of(), null, null, null, null, null, original);
  }

  private static boolean isSes(HeaderBlock.Field f) {
    for (String name : ALL) {
      if (f.is(name)) {
        return true;
      }
    }
    return false;
  }

  /** The value of a header that names one thing (an ARN, the tenant), or null; once at most. */
  private static String arn(HeaderBlock headers, String name) {
    List<HeaderBlock.Field> fields = headers.all(name);
    if (fields.size() > 1) {
      throw SesException.badRequest("The " + name + " header may appear only once.");
    }
    return fields.isEmpty() ? null : headers.rawValue(fields.get(0)).strip();
  }

  /**
   * A Raw send (over the API or SMTP): the headers are removed, and what they ask for applies where the request's
   * own parameters say nothing. As in SES, ConfigurationSetName wins over the header, and EmailTags, when given,
   * replace the header's tags instead of joining them.
   */
  public static SendRequest applyTo(SendRequest request) {
    if (!(request.content() instanceof RawContent raw)) {
      return request;
    }
    Extracted ses = extract(raw.data());
    if (ses.message() == raw.data()) {
      return request; // no SES header: nothing to remove or apply
    }
    // the parameters' ARNs win over the headers', each for its own address
    SendRequest.IdentityArns given = request.identityArns();
    SendRequest.IdentityArns arns = given == null
        ? SendRequest.IdentityArns.of("ses:SendRawEmail", ses.sourceArn(), ses.fromArn(), ses.returnPathArn())
        : SendRequest.IdentityArns.of(given.action(), given.from() != null ? given.from() : ses.sourceArn(),
            given.headerFrom() != null ? given.headerFrom() : ses.fromArn(),
            given.returnPath() != null ? given.returnPath() : ses.returnPathArn());
    return new SendRequest(request.from(), request.destination(), request.replyTo(),
        request.configurationSet() != null ? request.configurationSet() : ses.configurationSet(),
        request.tags().isEmpty() ? ses.tags() : request.tags(), new RawContent(ses.message()),
        request.envelopeSender(), request.listManagement() != null ? request.listManagement() : ses.list(), arns,
        request.tenant() != null ? request.tenant() : ses.tenant() == null || ses.tenant().isEmpty() ? null : ses.tenant(),
        request.nullReversePath(), request.maxMessageBytes(), request.operation());
  }

  /** {@code listName} or {@code listName; topic=topicName}, as SES reads the header. */
  static SendRequest.ListManagement listManagement(String value) {
    String[] parts = value.split(";", -1);
    String topic = null;
    if (parts.length > 2) {
      throw SesException.badRequest("X-SES-LIST-MANAGEMENT-OPTIONS must be 'listName' or 'listName; topic=topicName'.");
    }
    if (parts.length == 2) {
      String t = parts[1].strip();
      if (!t.regionMatches(true, 0, "topic=", 0, 6)) {
        throw SesException.badRequest("X-SES-LIST-MANAGEMENT-OPTIONS must be 'listName' or 'listName; topic=topicName'.");
      }
      topic = t.substring(6).strip();
    }
    return new SendRequest.ListManagement(parts[0].strip(), topic);
  }

  private static List<SendRequest.EmailTag> tags(String value) {
    List<SendRequest.EmailTag> out = new ArrayList<>();
    for (String pair : value.split(",")) {
      if (pair.isBlank()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq < 0) {
        throw SesException.badRequest("X-SES-MESSAGE-TAGS must be name=value pairs separated by commas: " + pair.strip());
      }
      out.add(new SendRequest.EmailTag(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip()));
    }
    return out;
  }
}
