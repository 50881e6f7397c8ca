package io.mailgate.send;

import com.github.jknack.handlebars.Context;
import com.github.jknack.handlebars.Handlebars;
import com.github.jknack.handlebars.HandlebarsException;
import com.github.jknack.handlebars.Template;
import com.github.jknack.handlebars.io.TemplateLoader;
import com.github.jknack.handlebars.io.TemplateSource;
import io.mailgate.SesError;
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
 * {@code {{{name}}}} is not, as in SES; {@code if}, {@code unless}, {@code each}, {@code with} and {@code lookup}
 * work. A variable that the data does not have fails the rendering ("Attribute 'name' is not present in the rendering
 * data."), where Handlebars alone would print nothing. Only the data's maps, lists and values are visible to a
 * template (no Java getters or methods), and partials, inline partials and Handlebars.java's other helpers (files,
 * logs, resource bundles) are refused.
 *
 * <p>A template and its data are the caller's, so what one rendering may cost is bounded: every loop's iterations
 * and its body's text once per item are charged to a {@link Budget} before the loop runs, and every data string each
 * time it is printed, including into the inner buffers Handlebars fills for blocks, so nested loops and repeated
 * values fail early instead of filling the heap or a worker thread for hours. Plain Java,
 * thread-safe; callers run it on a worker thread.
 */
public final class TemplateRenderer {
  /** SES's limit on TemplateData. */
  public static final int MAX_DATA_CHARS = 262_144;

  /** The parts of a rendered template. */
  public record Rendered(String subject, String text, String html) {}

  /** Loop iterations one rendering may run, all loops together. */
  public static final int MAX_ITERATIONS = 100_000;

  private final Handlebars handlebars;
  private final int maxOutputChars;
  /** The budget of the rendering under way on this thread. */
  private static final ThreadLocal<Budget> BUDGET = new ThreadLocal<>();

  /**
   * What renderings may still build: characters (an upper bound of what they produce, counted before it is built) and
   * loop iterations. One budget may serve several renderings (the entries of a bulk send).
   */
  public static final class Budget {
    private long chars;
    private long iterations;

    public Budget(long chars) {
      this.chars = chars;
      this.iterations = MAX_ITERATIONS;
    }

    void chars(long n) {
      if (n > chars) { // refused: nothing taken
        throw new OverBudget("the rendering would be too large");
      }
      chars -= n;
    }

    void iterations(long n) {
      if (n > iterations) {
        throw new OverBudget("its loops would run more than " + MAX_ITERATIONS + " times");
      }
      iterations -= n;
    }

    /** What is left, to give back what a rendering that then failed took ({@link #restore}). */
    long[] left() {
      return new long[] {chars, iterations};
    }

    /** Back to {@code left}: a failed rendering (one bulk entry) costs the renderings after it nothing. */
    void restore(long[] left) {
      chars = left[0];
      iterations = left[1];
    }
  }

  /** Replacing Handlebars.java's helpers is the point here, not something to warn about at every start (held: a
   * logger nobody references loses its level). */
  private static final java.util.logging.Logger REGISTRY_LOG =
      java.util.logging.Logger.getLogger("com.github.jknack.handlebars.HelperRegistry");

  static {
    REGISTRY_LOG.setLevel(java.util.logging.Level.SEVERE);
  }

  /** SES's unsubscribe URL placeholder ({@code io.mailgate.lists.UnsubscribeLinks#PLACEHOLDER}): not data. */
  static final String UNSUBSCRIBE_URL = "amazonSESUnsubscribeUrl";

  public TemplateRenderer(int maxOutputChars) {
    this.maxOutputChars = maxOutputChars;
    this.handlebars = new Handlebars(new NoPartials());
    handlebars.registerHelperMissing((context, options) -> {
      if (options.helperName.equals(UNSUBSCRIBE_URL) && options.params.length == 0) {
        // SES's own placeholder: left for the send path to fill in (with the message's ListManagementOptions)
        return new Handlebars.SafeString("{{" + UNSUBSCRIBE_URL + "}}");
      }
      throw new MissingAttribute(options.helperName);
    });
    for (String name : List.of("log", "embedded", "precompile", "i18n", "i18nJs", "block", "partial")) {
      handlebars.registerHelper(name, (context, options) -> {
        // Handlebars.java's own helpers, not Handlebars.js's: {{partial}} is the data's "partial" there, and here
        // (a helper's first parameter is its context: none given, the context is the template's own)
        Object value = options.tagType.inline() && context == options.context.model() && options.params.length == 0
            && options.hash.isEmpty() ? options.context.get(name) : null;
        if (value == null) {
          throw new Refused("the " + name + " helper is not supported");
        }
        return value;
      });
    }
    handlebars.registerDecorator("inline", (fn, options) -> {
      throw new Refused("inline partials are not supported");
    });
    com.github.jknack.handlebars.Helper<Object> each = com.github.jknack.handlebars.helper.EachHelper.INSTANCE;
    handlebars.registerHelper("each", (context, options) -> {
      chargeLoop(context, options.fn.text().length());
      return each.apply(context, options);
    });
    // every value a {{...}} prints passes here: the data's strings, maps and lists charge themselves as they print
    // (in a list, inside any other value's printing too); what else prints (a map's keys through {{@key}}, numbers,
    // @index, what helpers answer) is charged here, before a block's buffer holds it
    handlebars.with((value, next) -> {
      Object formatted = next.format(value);
      if (formatted instanceof DataString || formatted instanceof DataMap || formatted instanceof DataList) {
        return formatted;
      }
      String printed = String.valueOf(formatted);
      charge(printedLength(printed));
      return formatted instanceof Handlebars.SafeString ? new Handlebars.SafeString(printed) : printed;
    });
  }

  /** What printing {@code s} may add: {@code {{x}}} escapes {@code & < > " ' ` =} into entities of up to six characters. */
  static long printedLength(CharSequence s) {
    long extra = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      extra += c == '&' ? 4 : c == '<' || c == '>' ? 3 : c == '"' || c == '\'' || c == '`' || c == '=' ? 5 : 0;
    }
    return s.length() + extra;
  }

  /** A loop over {@code items}: its iterations, and the body's text once per item (values are charged as printed). */
  private static void chargeLoop(Object items, int bodyChars) {
    Budget b = BUDGET.get();
    long n = items instanceof Map<?, ?> m ? m.size() : items instanceof java.util.Collection<?> c ? c.size() : 0;
    b.iterations(n);
    b.chars(n * bodyChars);
  }

  /**
   * The data as a template sees it: its strings are charged to the rendering's budget each time they are printed
   * (Handlebars prints a value through its {@code toString}), wherever that happens, inside blocks too; objects print
   * as JavaScript prints them ({@code [object Object]}), lists as their items joined with commas.
   */
  static final class DataString implements CharSequence {
    private final String s;
    /** What printing it may add ({@link #printedLength}). */
    private final long printed;

    DataString(String s) {
      this.s = s;
      this.printed = printedLength(s);
    }

    @Override
    public int length() {
      return s.length();
    }

    @Override
    public char charAt(int index) {
      return s.charAt(index);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return s.subSequence(start, end);
    }

    @Override
    public String toString() {
      Budget b = BUDGET.get();
      if (b != null) {
        b.chars(printed); // as if escaped: an upper bound of what it adds to the output either way
      }
      return s;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof DataString d && d.s.equals(s);
    }

    @Override
    public int hashCode() {
      return s.hashCode();
    }
  }

  static final class DataMap extends HashMap<String, Object> {
    @Override
    public String toString() {
      charge(OBJECT.length());
      return OBJECT;
    }
  }

  /** What JavaScript prints for an object, as Handlebars.js does. */
  private static final String OBJECT = "[object Object]";

  /** Charges {@code n} printed characters to the rendering under way (none outside one). */
  private static void charge(long n) {
    Budget b = BUDGET.get();
    if (b != null) {
      b.chars(n);
    }
  }

  static final class DataList extends ArrayList<Object> {
    DataList(int size) {
      super(size);
    }

    /**
     * The items joined by commas, as JavaScript prints an array. Each is charged before it is printed: strings, objects
     * and lists charge themselves; numbers, booleans and nulls and the commas here (a list of 90,000 zeros prints
     * 180,000 characters from nothing a string would charge, and a template can print it 90,000 times).
     */
    @Override
    public String toString() {
      charge(Math.max(0, size() - 1));
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        Object item = get(i);
        if (item instanceof DataString || item instanceof DataMap || item instanceof DataList) {
          sb.append(item);
        } else {
          String printed = item == null ? "" : String.valueOf(item); // JavaScript prints null in an array as nothing
          charge(printed.length());
          sb.append(printed);
        }
      }
      return sb.toString();
    }
  }

  /** A template's parts, compiled: rendered any number of times, from any thread. */
  public record Compiled(Template subject, Template text, Template html) {}

  /**
   * Compiled templates by source, so that sends of one template compile it once, not once each; bounded by the
   * characters of their sources (a template may be 500 KB), emptied when full.
   */
  private static final class CompiledCache {
    private final java.util.concurrent.ConcurrentHashMap<EmailTemplate, Compiled> map =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong chars = new java.util.concurrent.atomic.AtomicLong();
    private final long maxChars;

    CompiledCache(long maxChars) {
      this.maxChars = maxChars;
    }

    void put(EmailTemplate t, Compiled c, long sourceChars) {
      if (chars.addAndGet(sourceChars) > maxChars) {
        map.clear(); // racing threads may count a little wrong; the bound is what matters
        chars.set(sourceChars);
      }
      map.put(t, c);
    }
  }

  /** Stored templates' (every send of one uses it), and sends' own small ones, apart: a caller sending ever other
   * templates of its own empties only the second. */
  private final CompiledCache stored = new CompiledCache(8L * 1024 * 1024);
  private final CompiledCache inline = new CompiledCache(1024 * 1024);
  /** A send's own template is kept compiled up to this size (larger ones are compiled for their send only). */
  static final int MAX_KEPT_INLINE_CHARS = 16 * 1024;

  /** Compiles every part: a syntax error is a 400 naming the part. */
  public Compiled compile(EmailTemplate t, boolean isStored) {
    CompiledCache cache = isStored ? stored : inline;
    Compiled c = cache.map.get(t);
    if (c == null) {
      c = new Compiled(compile(t.subject(), "Subject"), compile(t.text(), "Text"), compile(t.html(), "Html"));
      long chars = t.subject().length() + (t.text() == null ? 0 : t.text().length())
          + (t.html() == null ? 0 : t.html().length());
      if (isStored || chars <= MAX_KEPT_INLINE_CHARS) {
        cache.put(t, c, chars);
      }
    }
    return c;
  }

  /** Whether the template's compiled form is kept (for tests). */
  boolean kept(EmailTemplate t) {
    return stored.map.containsKey(t) || inline.map.containsKey(t);
  }

  /** {@code data}: a JSON object, as SES's TemplateData; null or empty means no data. */
  public Rendered render(EmailTemplate t, String data) {
    return render(compile(t, true), data, budget());
  }

  /**
   * A budget for one request's renderings: two parts' worth (the charges are upper bounds). The entries of a bulk
   * send share one, so fifty entries cannot hold fifty times as much.
   */
  public Budget budget() {
    return new Budget(2L * maxOutputChars);
  }

  public Rendered render(Compiled c, String data, Budget budget) {
    Map<String, Object> values = data(data);
    BUDGET.set(budget);
    try {
      String subject = apply(c.subject(), values, "Subject");
      MessageHeader.requireNoControl(subject, "rendered Subject"); // data must not add header lines
      return new Rendered(subject, apply(c.text(), values, "Text"), apply(c.html(), values, "Html"));
    } finally {
      BUDGET.remove();
    }
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
      throw new SesException(SesError.INVALID_TEMPLATE, "Template " + part + " has a syntax error: "
          + firstLine(e.getMessage()));
    } catch (StackOverflowError e) { // the parser recurses once per nesting level
      throw nestedTooDeeply(part);
    }
  }

  private String apply(Template template, Map<String, Object> values, String part) {
    if (template == null) {
      return null;
    }
    Bounded out = new Bounded(maxOutputChars);
    Context context = Context.newBuilder(values)
        .resolver(com.github.jknack.handlebars.context.MapValueResolver.INSTANCE).build();
    try {
      template.apply(context, out);
    } catch (IOException | RuntimeException e) {
      throw refusal(e, part); // Handlebars wraps what its helpers and the writer throw
    } catch (StackOverflowError e) { // so does the renderer
      throw nestedTooDeeply(part);
    } finally {
      context.destroy();
    }
    return out.toString();
  }

  private static SesException nestedTooDeeply(String part) {
    return new SesException(SesError.INVALID_TEMPLATE, "Template " + part + " is nested too deeply.");
  }

  /** Why a rendering failed, as the caller's 400: the first cause of ours in the chain, else Handlebars' message. */
  private SesException refusal(Throwable e, String part) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof MissingAttribute m) {
        return new SesException(SesError.MISSING_RENDERING_ATTRIBUTE,
            "Attribute '" + m.name + "' is not present in the rendering data.");
      }
      if (c instanceof OverBudget || c instanceof Refused) {
        return SesException.badRequest("Template " + part + " cannot be rendered: " + c.getMessage() + ".");
      }
      if (c instanceof TooLarge) {
        return SesException.badRequest("The rendered " + part + " is longer than " + maxOutputChars + " characters.");
      }
    }
    return SesException.badRequest("Template " + part + " cannot be rendered: " + firstLine(String.valueOf(e.getMessage())));
  }

  private static Map<String, Object> data(String data) {
    if (data == null || data.isBlank()) {
      return Map.of();
    }
    if (data.length() > MAX_DATA_CHARS) {
      throw new SesException(SesError.INVALID_RENDERING_PARAMETER,
          "TemplateData is longer than " + MAX_DATA_CHARS + " characters.");
    }
    JsonObject json;
    try {
      json = new JsonObject(data);
    } catch (DecodeException | ClassCastException e) {
      throw new SesException(SesError.INVALID_RENDERING_PARAMETER, "TemplateData is not a JSON object.");
    }
    return map(json);
  }

  private static Map<String, Object> map(JsonObject o) {
    Map<String, Object> m = new DataMap();
    for (Map.Entry<String, Object> e : o) {
      m.put(e.getKey(), plain(e.getValue()));
    }
    return m;
  }

  private static Object plain(Object v) {
    if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9.007199254740992E15) {
      return d.longValue(); // 20.0 prints as 20, as in JavaScript
    }
    if (v instanceof Double d) {
      return new DataString(jsNumber(d)); // 12345678.5, not Java's 1.23456785E7
    }
    if (v instanceof JsonObject o) {
      return map(o);
    }
    if (v instanceof String str) {
      return new DataString(str);
    }
    if (v instanceof JsonArray a) {
      List<Object> l = new DataList(a.size());
      for (Object x : a) {
        l.add(plain(x));
      }
      return l;
    }
    return v;
  }

  /**
   * A number as JavaScript prints it (Number.prototype.toString): the shortest digits that read back as it, plain
   * from 1e-6 up to 1e21 ({@code 0.0001}, {@code 10000000000000000}), else as {@code 1.5e-7} or {@code 1e+21}.
   */
  static String jsNumber(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    }
    String shortest = Double.toString(d); // Java's digits are the shortest that read back too
    double abs = Math.abs(d);
    if (abs == 0 || (abs >= 1e-6 && abs < 1e21)) {
      return new java.math.BigDecimal(shortest).stripTrailingZeros().toPlainString();
    }
    int e = shortest.indexOf('E');
    String mantissa = new java.math.BigDecimal(shortest.substring(0, e)).stripTrailingZeros().toPlainString();
    String exponent = shortest.substring(e + 1);
    return mantissa + "e" + (exponent.startsWith("-") ? exponent : "+" + exponent);
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return MailboxParser.abbreviate(nl < 0 ? s : s.substring(0, nl));
  }

  /** A rendering that would cost more than its budget. */
  private static final class OverBudget extends RuntimeException {
    OverBudget(String why) {
      super(why, null, false, false);
    }
  }

  /** A helper or feature templates may not use. */
  private static final class Refused extends RuntimeException {
    Refused(String why) {
      super(why, null, false, false);
    }
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
