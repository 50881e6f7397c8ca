package io.mailgate;

/** Launcher: {@code start}, {@code start-dev} and admin commands. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.err.println("usage: mailgate start|start-dev");
    System.exit(2);
  }
}
