package io.mailgate.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A certificate file and a key file at fixed paths in a directory of their own, as a node is configured with them,
 * replaced the way a renewal (certbot, cert-manager) replaces them; deleted with their directory on close.
 */
public final class CertificateFiles implements AutoCloseable {
  private final Path dir;

  public CertificateFiles() throws IOException {
    dir = Files.createTempDirectory("mailgate-certs");
  }

  public Path cert() {
    return dir.resolve("fullchain.pem");
  }

  public Path key() {
    return dir.resolve("privkey.pem");
  }

  /** Replaces {@code target} as a renewal does: a copy of {@code source} moved over it. */
  public static void install(String source, Path target) throws IOException {
    Path next = target.resolveSibling(target.getFileName() + ".new");
    Files.copy(Path.of(source), next, StandardCopyOption.REPLACE_EXISTING);
    Files.move(next, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public void close() throws IOException {
    Files.deleteIfExists(cert());
    Files.deleteIfExists(key());
    Files.deleteIfExists(dir);
  }
}
