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
    return create(commonName, subjectAltNames.length == 0 ? List.of()
        : List.of("-ext", "SAN=" + String.join(",", subjectAltNames)));
  }

  /** With {@code extensions}: keytool's arguments ({@code -ext ...}). */
  private static NamedCertificate create(String commonName, List<String> extensions) {
    try {
      Path dir = Files.createTempDirectory("named-cert");
      Path store = dir.resolve("server.p12");
      Path pem = dir.resolve("server.pem");
      List<String> generate = new ArrayList<>(List.of(keytool(), "-genkeypair", "-keystore", store.toString(),
          "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD, "-alias", "server", "-keyalg", "EC",
          "-groupname", "secp256r1", "-validity", "2", "-dname", "CN=" + commonName));
      generate.addAll(extensions);
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

  /**
   * A certificate for {@code commonName} issued by this one, taken as a CA (it must be one: {@link #authority}); the
   * server presents both, its own first, as DANE-TA asks of it (RFC 7672 3.1.2).
   */
  public NamedCertificate issue(String commonName, String... subjectAltNames) {
    try {
      Path dir = Files.createTempDirectory("issued-cert");
      Path store = dir.resolve("server.p12");
      Path request = dir.resolve("server.csr");
      Path issued = dir.resolve("server.pem");
      run(List.of(keytool(), "-genkeypair", "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass",
          PASSWORD, "-keypass", PASSWORD, "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
          "-validity", "2", "-dname", "CN=" + commonName));
      run(List.of(keytool(), "-certreq", "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass",
          PASSWORD, "-alias", "server", "-file", request.toString()));
      List<String> sign = new ArrayList<>(List.of(keytool(), "-gencert", "-keystore", keyStore.toString(),
          "-storetype", "PKCS12", "-storepass", PASSWORD, "-alias", "server", "-infile", request.toString(),
          "-outfile", issued.toString(), "-validity", "2", "-rfc"));
      if (subjectAltNames.length > 0) {
        sign.add("-ext");
        sign.add("SAN=" + String.join(",", subjectAltNames));
      }
      run(sign);
      run(List.of(keytool(), "-importcert", "-noprompt", "-keystore", store.toString(), "-storetype", "PKCS12",
          "-storepass", PASSWORD, "-alias", "ca", "-file", certificate.toString()));
      run(List.of(keytool(), "-importcert", "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass",
          PASSWORD, "-alias", "server", "-file", issued.toString()));
      for (Path p : List.of(dir, store, request, issued)) {
        p.toFile().deleteOnExit();
      }
      return new NamedCertificate(store, issued);
    } catch (IOException e) {
      throw new IllegalStateException("keytool could not issue a certificate for " + commonName, e);
    }
  }

  /** A self-signed CA certificate (basic constraints CA:true), to {@link #issue} others. */
  public static NamedCertificate authority(String commonName) {
    return create(commonName, List.of("-ext", "bc:c"));
  }

  /** The certificate, parsed. */
  public java.security.cert.X509Certificate x509() throws IOException {
    try (java.io.InputStream in = Files.newInputStream(certificate)) {
      return (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in);
    } catch (java.security.cert.CertificateException e) {
      throw new IOException(e);
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
