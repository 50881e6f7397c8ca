package io.mailgate.send;

import io.mailgate.SesException;
import java.net.URLConnection;
import java.util.Locale;
import java.util.Set;

/**
 * An attachment of a Simple message (SES {@code Attachments}): regular or inline (with a
 * Content-ID the HTML refers to as {@code cid:}). File types SES refuses are refused here too.
 */
public record Attachment(byte[] content, String fileName, String contentType, boolean inline, String contentId,
    String description, TransferEncoding encoding) {

  /** Extensions SES does not accept as attachments (SES developer guide, "Unsupported attachment types"). */
  private static final Set<String> BLOCKED_EXTENSIONS = Set.of(
      "ade", "adp", "app", "asp", "bas", "bat", "cer", "chm", "cmd", "com", "cpl", "crt", "csh", "der", "exe",
      "fxp", "gadget", "hlp", "hta", "inf", "ins", "isp", "its", "js", "jse", "ksh", "lib", "lnk", "mad", "maf",
      "mag", "mam", "maq", "mar", "mas", "mat", "mau", "mav", "maw", "mda", "mdb", "mde", "mdt", "mdw", "mdz",
      "msc", "msh", "msh1", "msh2", "mshxml", "msh1xml", "msh2xml", "msi", "msp", "mst", "ops", "pcd", "pif",
      "plg", "prf", "prg", "reg", "scf", "scr", "sct", "shb", "shs", "sys", "ps1", "ps1xml", "ps2", "ps2xml",
      "psc1", "psc2", "tmp", "url", "vb", "vbe", "vbs", "vps", "vsmacros", "vss", "vst", "vsw", "vws", "xnk");

  /** SES's most characters in a ContentType and in a ContentId. */
  static final int MAX_FIELD = 78;

  public Attachment {
    if (content == null) {
      throw SesException.badRequest("Attachment RawContent is missing.");
    }
    if (fileName == null || fileName.isBlank()) {
      throw SesException.badRequest("Attachment FileName is missing.");
    }
    if (fileName.length() > 255) {
      throw SesException.badRequest("Attachment FileName is longer than 255 characters.");
    }
    MessageHeader.requireNoControl(fileName, "attachment FileName");
    requireWellFormed(fileName, "attachment FileName");
    if (isBlocked(fileName)) {
      throw illegalFileName(fileName);
    }
    if (contentType == null || contentType.isBlank()) {
      String guessed = URLConnection.guessContentTypeFromName(fileName);
      contentType = guessed == null || composite(guessed) ? "application/octet-stream" : guessed; // a .eml as a file
    } else {
      contentType = contentType.strip();
      checkContentType(contentType);
    }
    if (contentId != null && !isContentId(contentId)) {
      throw SesException.badRequest("Invalid attachment ContentId '" + MailboxParser.abbreviate(contentId) + "'.");
    }
    if (description != null) {
      if (description.length() > 1000) {
        throw SesException.badRequest("Attachment ContentDescription is longer than 1000 characters.");
      }
      MessageHeader.requireNoControl(description, "attachment ContentDescription");
      requireWellFormed(description, "attachment ContentDescription");
    }
    if (encoding == null) {
      encoding = TransferEncoding.BASE64;
    }
    if (encoding == TransferEncoding.SEVEN_BIT && !TransferEncoding.isSevenBitSafe(content)) {
      throw SesException.badRequest("Attachment '" + fileName + "' is not 7-bit data; use BASE64 or QUOTED_PRINTABLE.");
    }
  }

  /** Whether {@code fileName} has an extension SES refuses (a Simple message's attachment, or a raw message's part). */
  static boolean isBlocked(String fileName) {
    String name = fileName.strip();
    int open = name.endsWith(")") ? name.lastIndexOf('(') : -1;
    if (open > 0) {
      name = name.substring(0, open); // a comment after an unquoted name: x.exe (x)
    }
    int end = name.length();
    while (end > 0 && (name.charAt(end - 1) == '.' || Character.isWhitespace(name.charAt(end - 1)))) {
      end--; // the trailing dots and spaces Windows drops when it saves a file: setup.exe. is setup.exe
    }
    name = name.substring(0, end);
    int dot = name.lastIndexOf('.');
    return dot >= 0 && BLOCKED_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  /** SES's answer to an attachment of a type it refuses. */
  static SesException illegalFileName(String fileName) {
    return new SesException(io.mailgate.SesError.MESSAGE_REJECTED, "Illegal filename '" + fileName + "'.");
  }

  /**
   * A Content-ID as it is written between angle brackets: 1 to 78 printable ASCII characters (SES's limit), no space
   * and no angle bracket. Anything beyond ASCII is refused, not only controls: the header is written byte for byte, and
   * U+010D written so is a CR.
   */
  private static boolean isContentId(String id) {
    if (id.isEmpty() || id.length() > MAX_FIELD) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c <= ' ' || c >= 0x7f || c == '<' || c == '>') {
        return false;
      }
    }
    return true;
  }

  /** type/subtype of RFC 2045 token characters, at most 78 (SES's limit); parameters are written by us, not taken. */
  private static void checkContentType(String ct) {
    int slash = ct.indexOf('/');
    boolean ok = slash > 0 && slash < ct.length() - 1 && ct.length() <= MAX_FIELD;
    for (int i = 0; ok && i < ct.length(); i++) {
      char c = ct.charAt(i);
      ok = i == slash || (c > 32 && c < 127 && "()<>@,;:\\\"/[]?=".indexOf(c) < 0);
    }
    if (!ok) {
      throw SesException.badRequest("Invalid attachment ContentType '" + MailboxParser.abbreviate(ct) + "'.");
    }
    if (composite(ct)) {
      // a composite type would need boundaries or an identity encoding; as a base64 leaf it is unreadable (RFC 2046)
      throw SesException.badRequest("Attachment ContentType '" + MailboxParser.abbreviate(ct)
          + "' is a composite type; attach it as application/octet-stream.");
    }
  }

  private static boolean composite(String ct) {
    String lower = ct.toLowerCase(Locale.ROOT);
    return lower.startsWith("multipart/") || lower.startsWith("message/");
  }

  /** A lone surrogate has no UTF-8 form: refused here rather than failing when the header is encoded. */
  private static void requireWellFormed(String s, String what) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw SesException.badRequest("The " + what + " is not well-formed Unicode (a lone surrogate).");
      }
    }
  }
}
