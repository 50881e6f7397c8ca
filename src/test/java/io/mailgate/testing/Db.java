package io.mailgate.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** Direct SQL on a node's database, for tests that check what was (not) stored. */
public final class Db {
  private Db() {}

  public static long count(String pgUrl, String sql) {
    String jdbc = "jdbc:" + pgUrl.replace("postgresql://postgres@", "postgresql://");
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String string(String pgUrl, String sql) {
    String jdbc = "jdbc:" + pgUrl.replace("postgresql://postgres@", "postgresql://");
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The rows of a query of two columns, text and a number: the first to the second, in the order they came. */
  public static java.util.Map<String, Long> longs(String pgUrl, String sql) {
    String jdbc = "jdbc:" + pgUrl.replace("postgresql://postgres@", "postgresql://");
    java.util.Map<String, Long> rows = new java.util.LinkedHashMap<>();
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getLong(2));
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One statement with parameters ({@code byte[]} binds as bytea, an {@code Instant} as timestamptz). */
  public static void execute(String pgUrl, String sql, Object... params) {
    String jdbc = "jdbc:" + pgUrl.replace("postgresql://postgres@", "postgresql://");
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        s.setObject(i + 1, params[i] instanceof Instant t ? OffsetDateTime.ofInstant(t, ZoneOffset.UTC) : params[i]);
      }
      s.execute();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A connection of the test's own, for what one statement cannot show: a transaction held open (a row lock) while
   * the node works. The caller closes it.
   */
  public static Connection connect(String pgUrl) {
    try {
      return DriverManager.getConnection("jdbc:" + pgUrl.replace("postgresql://postgres@", "postgresql://"),
          "postgres", "");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public static void execute(String pgUrl, String sql) {
    String jdbc = "jdbc:" + pgUrl.replace("postgresql://postgres@", "postgresql://");
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
