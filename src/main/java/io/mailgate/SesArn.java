package io.mailgate;

/**
 * An SES ARN as callers give one ({@code arn:aws:ses:<region>:<account>:<resource>}; Mailgate is in the {@code aws}
 * partition, so an ARN of another one names nothing here): the region and account it names and its resource part
 * ({@code template/welcome}, {@code identity/example.com}, ...). Which kinds a caller takes, and what another
 * account's resource means to it, is the caller's to say.
 */
public record SesArn(String region, String account, String resource) {

  /** The ARN's parts, or null when it is not an SES ARN. */
  public static SesArn parse(String arn) {
    String[] parts = arn.split(":", 6);
    if (parts.length != 6 || !parts[0].equals("arn") || !parts[1].equals("aws") || !parts[2].equals("ses")) {
      return null;
    }
    return new SesArn(parts[3], parts[4], parts[5]);
  }
}
