package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The request reader gives what Vert.x's own reader gives, value for value and type for type. */
class JsonBodiesTest {

  @Test
  void readsWhatVertxReads() {
    StringBuilder big = new StringBuilder();
    for (int i = 0; i < 3000; i++) {
      big.append("line ").append(i).append(" caf\\u00e9 \\\"quoted\\\" \\ud83d\\ude00 tab\\t end\\n");
    }
    for (String json : List.of(
        "{}",
        " {\"a\": 1} ",
        "{\"n\": [1, -2, 3000000000, 123456789012345678901234567890, 1.5, -0.0, 1e300, 2E-5]}",
        "{\"t\": true, \"f\": false, \"z\": null, \"e\": \"\", \"u\": \"caf\\u00e9 \\ud83d\\ude00 \\/ \\b\\f\\r\"}",
        "{\"nested\": {\"deeper\": [{\"x\": [[], {}]}, \"s\"]}, \"dup\": 1, \"dup\": 2}",
        "{\"Content\": {\"Simple\": {\"Body\": {\"Text\": {\"Data\": \"" + big + "\"}}}}}",
        "{\"utf8\": \"\u00e9\u4e2d\ud83d\ude00\"}")) {
      Buffer body = Buffer.buffer(json);
      JsonObject expected = new JsonObject(body);
      JsonObject actual = JsonBodies.parseObject(body);
      assertEquals(expected, actual, json.length() > 200 ? json.substring(0, 200) : json);
      assertEquals(expected.encode(), actual.encode());
      assertSameTypes(expected.getMap(), actual.getMap());
    }
  }

  @Test
  void refusesWhatVertxRefuses() {
    for (String json : List.of("{", "{\"a\":", "{\"a\": 1,}", "{\"a\" 1}", "{} x", "{}{}", "{\"a\": tru}",
        "{\"a\": \"unterminated}", "{\"a\": 01}", "[1]", "\"s\"")) {
      Buffer body = Buffer.buffer(json);
      if (json.startsWith("{")) {
        assertThrows(DecodeException.class, () -> new JsonObject(body), json);
      }
      assertThrows(DecodeException.class, () -> JsonBodies.parseObject(body), json);
    }
  }

  @SuppressWarnings("unchecked")
  private static void assertSameTypes(Object expected, Object actual) {
    if (expected == null) {
      assertEquals(null, actual);
      return;
    }
    assertEquals(expected.getClass(), actual.getClass(), String.valueOf(expected));
    if (expected instanceof Map<?, ?> m) {
      m.forEach((k, v) -> assertSameTypes(v, ((Map<String, Object>) actual).get(k)));
    } else if (expected instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        assertSameTypes(l.get(i), ((List<Object>) actual).get(i));
      }
    } else if (expected instanceof JsonObject || expected instanceof JsonArray) {
      throw new AssertionError("Vert.x's reader gives maps and lists, not " + expected.getClass());
    }
  }
}
