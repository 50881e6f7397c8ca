package io.mailgate.api.s3;

/** S3's bucket names: those a receipt rule's S3 action or an export job may write to. */
public final class BucketNames {
  private BucketNames() {}

  /** S3's rules for a bucket name (those of a bucket that can also be addressed as a host name). */
  public static boolean valid(String b) {
    if (b.length() < 3 || b.length() > 63 || b.contains("..") || b.matches("[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+")) {
      return false;
    }
    for (int i = 0; i < b.length(); i++) {
      char c = b.charAt(i);
      boolean edge = i == 0 || i == b.length() - 1;
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!edge && (c == '.' || c == '-')))) {
        return false;
      }
    }
    return true;
  }
}
