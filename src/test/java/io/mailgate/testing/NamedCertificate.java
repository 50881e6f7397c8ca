package io.mailgate.testing;

import io.vertx.core.net.PfxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed certificate with the subjectAltName entries a test asks for ({@code dns:mx.example.com},
 * {@code ip:127.0.0.3}), made by the JDK's own keytool (EC P-256): Vert.x's {@code SelfSignedCertificate} has a
 * subject CN and no subjectAltName, which is not what a server on the internet presents.
 */
public final class NamedCertificate {
  private static final String PASSWORD = "changeit";
  private final Path keyStore;
  private final Path certificate;

  private NamedCertificate(Path keyStore, Path certificate) {
    this.keyStore = keyStore;
    this.certificate = certificate;
  }

  /** @param subjectAltNames keytool's SAN entries, e.g. {@code dns:mx.example.com}, {@code ip:127.0.0.3} */
  public static NamedCertificate create(String commonName, String... subjectAltNames) {
    try {
      Path dir = Files.createTempDirectory("named-cert");
      Path store = dir.resolve("server.p12");
      Path pem = dir.resolve("server.pem");
      List<String> generate = new ArrayList<>(List.of(keytool(), "-genkeypair", "-keystore", store.toString(),
          "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD, "-alias", "server", "-keyalg", "EC",
          "-groupname", "secp256r1", "-validity", "2", "-dname", "CN=" + commonName));
      if (subjectAltNames.length > 0) {
        generate.add("-ext");
        generate.add("SAN=" + String.join(",", subjectAltNames));
      }
      run(generate);
      run(List.of(keytool(), "-exportcert", "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass",
          PASSWORD, "-alias", "server", "-rfc", "-file", pem.toString()));
      dir.toFile().deleteOnExit();
      store.toFile().deleteOnExit();
      pem.toFile().deleteOnExit();
      return new NamedCertificate(store, pem);
    } catch (IOException e) {
      throw new IllegalStateException("keytool could not make a certificate for " + commonName, e);
    }
  }

  /** The key and certificate, for a server. */
  public PfxOptions keyCertOptions() {
    return new PfxOptions().setPath(keyStore.toString()).setPassword(PASSWORD);
  }

  /** The certificate as PEM text, to trust it. */
  public String pem() throws IOException {
    return Files.readString(certificate);
  }

  private static String keytool() {
    return Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
  }

  private static void run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String output = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("keytool failed: " + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
