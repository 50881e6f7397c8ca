package io.mailgate.send;

import com.github.jknack.handlebars.Context;
import com.github.jknack.handlebars.Handlebars;
import com.github.jknack.handlebars.HandlebarsException;
import com.github.jknack.handlebars.Template;
import com.github.jknack.handlebars.io.TemplateLoader;
import com.github.jknack.handlebars.io.TemplateSource;
import io.mailgate.SesException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders SES templates: Handlebars, as SES's are. {@code {{name}}} is HTML-escaped in every part and
 * {@code {{{name}}}} is not, as in SES; conditionals, {@code each}, {@code with} and {@code lookup} work. A variable
 * that the data does not have fails the rendering ("Attribute 'name' is not present in the rendering data."), where
 * Handlebars alone would print nothing. Partials are refused (a template names no files), and each part's output is
 * held to {@code maxOutputChars}, so that nested loops over the data cannot build a message without end. Plain Java,
 * thread-safe; callers run it on a worker thread, since a template's cost depends on its data.
 */
public final class TemplateRenderer {
  /** SES's limit on TemplateData. */
  public static final int MAX_DATA_CHARS = 262_144;

  /** The parts of a rendered template. */
  public record Rendered(String subject, String text, String html) {}

  private final Handlebars handlebars;
  private final int maxOutputChars;

  public TemplateRenderer(int maxOutputChars) {
    this.maxOutputChars = maxOutputChars;
    this.handlebars = new Handlebars(new NoPartials());
    handlebars.registerHelperMissing((context, options) -> {
      throw new MissingAttribute(options.helperName);
    });
  }

  /** A template's parts, compiled: rendered any number of times, from any thread. */
  public record Compiled(Template subject, Template text, Template html) {}

  /** Compiled templates by source, so that sends of one template compile it once, not once each. */
  private final java.util.concurrent.ConcurrentHashMap<EmailTemplate, Compiled> compiled =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** The sources the compiled templates come from, in characters, at most (a template may be 500 KB). */
  private static final long MAX_COMPILED_CHARS = 8L * 1024 * 1024;
  private final java.util.concurrent.atomic.AtomicLong compiledChars = new java.util.concurrent.atomic.AtomicLong();

  /** Compiles every part: a syntax error is a 400 naming the part. */
  public Compiled compile(EmailTemplate t) {
    Compiled c = compiled.get(t);
    if (c == null) {
      c = new Compiled(compile(t.subject(), "Subject"), compile(t.text(), "Text"), compile(t.html(), "Html"));
      long chars = t.subject().length() + (t.text() == null ? 0 : t.text().length())
          + (t.html() == null ? 0 : t.html().length());
      if (compiledChars.addAndGet(chars) > MAX_COMPILED_CHARS) {
        compiled.clear(); // racing threads may count a little wrong; the bound is what matters
        compiledChars.set(chars);
      }
      compiled.put(t, c);
    }
    return c;
  }

  /** {@code data}: a JSON object, as SES's TemplateData; null or empty means no data. */
  public Rendered render(EmailTemplate t, String data) {
    return render(compile(t), data);
  }

  public Rendered render(Compiled c, String data) {
    Map<String, Object> values = data(data);
    String subject = apply(c.subject(), values, "Subject");
    MessageHeader.requireNoControl(subject, "rendered Subject"); // data must not add header lines
    return new Rendered(subject, apply(c.text(), values, "Text"), apply(c.html(), values, "Html"));
  }

  /** A rendered template as the Simple content of a message, with the caller's extra headers and attachments. */
  public static SimpleContent content(Rendered r, List<MessageHeader> headers, List<Attachment> attachments) {
    Charset utf8 = java.nio.charset.StandardCharsets.UTF_8;
    return new SimpleContent(r.subject(), utf8, r.text() == null ? null : new TextBody(r.text(), utf8),
        r.html() == null ? null : new TextBody(r.html(), utf8), headers, attachments);
  }

  private Template compile(String source, String part) {
    if (source == null) {
      return null;
    }
    try {
      return handlebars.compileInline(source);
    } catch (IOException | HandlebarsException e) {
      throw SesException.badRequest("Template " + part + " has a syntax error: " + firstLine(e.getMessage()));
    }
  }

  private String apply(Template template, Map<String, Object> values, String part) {
    if (template == null) {
      return null;
    }
    Bounded out = new Bounded(maxOutputChars);
    Context context = Context.newContext(values);
    try {
      template.apply(context, out);
    } catch (HandlebarsException e) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof MissingAttribute m) {
          throw SesException.badRequest("Attribute '" + m.name + "' is not present in the rendering data.");
        }
        if (c instanceof TooLarge) {
          throw SesException.badRequest("The rendered " + part + " is longer than " + maxOutputChars + " characters.");
        }
      }
      throw SesException.badRequest("Template " + part + " cannot be rendered: " + firstLine(e.getMessage()));
    } catch (TooLarge e) {
      throw SesException.badRequest("The rendered " + part + " is longer than " + maxOutputChars + " characters.");
    } catch (IOException | RuntimeException e) {
      throw SesException.badRequest("Template " + part + " cannot be rendered: " + firstLine(String.valueOf(e.getMessage())));
    } finally {
      context.destroy();
    }
    return out.toString();
  }

  private static Map<String, Object> data(String data) {
    if (data == null || data.isBlank()) {
      return Map.of();
    }
    if (data.length() > MAX_DATA_CHARS) {
      throw SesException.badRequest("TemplateData is longer than " + MAX_DATA_CHARS + " characters.");
    }
    JsonObject json;
    try {
      json = new JsonObject(data);
    } catch (DecodeException | ClassCastException e) {
      throw SesException.badRequest("TemplateData is not a JSON object.");
    }
    return map(json);
  }

  private static Map<String, Object> map(JsonObject o) {
    Map<String, Object> m = new HashMap<>();
    for (Map.Entry<String, Object> e : o) {
      m.put(e.getKey(), plain(e.getValue()));
    }
    return m;
  }

  private static Object plain(Object v) {
    if (v instanceof JsonObject o) {
      return map(o);
    }
    if (v instanceof JsonArray a) {
      List<Object> l = new ArrayList<>(a.size());
      for (Object x : a) {
        l.add(plain(x));
      }
      return l;
    }
    return v;
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return MailboxParser.abbreviate(nl < 0 ? s : s.substring(0, nl));
  }

  /** helperMissing's signal: a {@code {{name}}} the data does not have. */
  private static final class MissingAttribute extends RuntimeException {
    final String name;

    MissingAttribute(String name) {
      super(name, null, false, false);
      this.name = name;
    }
  }

  private static final class TooLarge extends IOException {
    TooLarge() {
      super(null, null);
    }
  }

  /** A writer that fails past its limit instead of growing without end. */
  private static final class Bounded extends Writer {
    private final StringBuilder sb = new StringBuilder();
    private final int max;

    Bounded(int max) {
      this.max = max;
    }

    @Override
    public void write(char[] cbuf, int off, int len) throws IOException {
      room(len);
      sb.append(cbuf, off, len);
    }

    @Override
    public void write(String str, int off, int len) throws IOException {
      room(len);
      sb.append(str, off, off + len);
    }

    @Override
    public Writer append(CharSequence csq) throws IOException {
      CharSequence s = csq == null ? "null" : csq;
      room(s.length());
      sb.append(s);
      return this;
    }

    private void room(int len) throws TooLarge {
      if (sb.length() + (long) len > max) {
        throw new TooLarge();
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    @Override
    public String toString() {
      return sb.toString();
    }
  }

  /** A template names no other template: {@code {{> name}}} fails instead of reading the class path. */
  private static final class NoPartials implements TemplateLoader {
    @Override
    public TemplateSource sourceAt(String location) throws IOException {
      throw new IOException("partials are not supported: " + location);
    }

    @Override
    public String resolve(String location) {
      return location;
    }

    @Override
    public String getPrefix() {
      return "";
    }

    @Override
    public String getSuffix() {
      return "";
    }

    @Override
    public void setPrefix(String prefix) {}

    @Override
    public void setSuffix(String suffix) {}

    @Override
    public void setCharset(Charset charset) {}

    @Override
    public Charset getCharset() {
      return java.nio.charset.StandardCharsets.UTF_8;
    }
  }
}
