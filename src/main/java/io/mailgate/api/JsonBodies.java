package io.mailgate.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a request body into a {@link JsonObject}, as {@code new JsonObject(buffer)} does (same parser and
 * settings, the same maps, lists and number types), but builds each string from the parser's character array.
 * Vert.x's reader asks for the string, which Jackson joins from its buffer segments through a
 * {@code StringBuilder}, a check of every character: for a 100 KB message body that was 14 % of the node's CPU.
 *
 * <p>The parser is Vert.x's (comments allowed, its limits) but for one limit: Jackson refuses a string longer than 20
 * million characters, and SES's 40 MB message is 54 million in base64. A body is already bounded by its route's limit.
 */
final class JsonBodies {
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .streamReadConstraints(vertxConstraints().rebuild().maxStringLength(Integer.MAX_VALUE).build())
      .build()
      .configure(JsonParser.Feature.ALLOW_COMMENTS, true);

  private JsonBodies() {}

  /** The limits of Vert.x's own parser (Jackson's, or what the vertx.jackson.defaultReadMax* properties set). */
  private static StreamReadConstraints vertxConstraints() {
    try (JsonParser p = JacksonCodec.createParser(Buffer.buffer("{}"))) {
      return p.streamReadConstraints();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @throws DecodeException when the body is not one JSON value, as Vert.x's own reader would */
  static JsonObject parseObject(Buffer body) {
    try (JsonParser parser = parser(body)) {
      JsonToken first = parser.nextToken();
      if (first != JsonToken.START_OBJECT) {
        throw new DecodeException("Failed to decode: not a JSON object");
      }
      Map<String, Object> map = object(parser);
      if (parser.nextToken() != null) {
        throw new DecodeException("Unexpected trailing token");
      }
      return new JsonObject(map);
    } catch (IOException e) {
      throw new DecodeException("Failed to decode:" + e.getMessage(), e);
    }
  }

  /** Over the buffer's own array when it has one (a body read into the heap), without a stream's copies. */
  private static JsonParser parser(Buffer body) throws IOException {
    ByteBuf b = ((BufferInternal) body).getByteBuf();
    if (b.hasArray()) {
      return FACTORY.createParser(b.array(), b.arrayOffset() + b.readerIndex(), b.readableBytes());
    }
    return FACTORY.createParser((java.io.InputStream) new ByteBufInputStream(b));
  }

  private static Map<String, Object> object(JsonParser parser) throws IOException {
    Map<String, Object> map = new LinkedHashMap<>();
    for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
      map.put(name, value(parser, parser.nextToken()));
    }
    return map;
  }

  private static List<Object> array(JsonParser parser) throws IOException {
    List<Object> list = new ArrayList<>();
    for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
      list.add(value(parser, t));
    }
    return list;
  }

  private static Object value(JsonParser parser, JsonToken token) throws IOException {
    if (token == null) {
      throw new DecodeException("Failed to decode: unexpected end of input");
    }
    return switch (token) {
      case START_OBJECT -> object(parser);
      case START_ARRAY -> array(parser);
      case VALUE_STRING -> new String(parser.getTextCharacters(), parser.getTextOffset(), parser.getTextLength());
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> parser.getNumberValue();
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw new DecodeException("Failed to decode: unexpected token " + token);
    };
  }
}
