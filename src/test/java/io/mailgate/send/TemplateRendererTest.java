package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesException;
import org.junit.jupiter.api.Test;

/** What a template may do, and what it may cost: the template and its data are the caller's. */
class TemplateRendererTest {
  final TemplateRenderer renderer = new TemplateRenderer(10 * 1024 * 1024);

  String text(String template, String data) {
    return renderer.render(new EmailTemplate("t", "s", template, null), data).text();
  }

  SesException refused(String template, String data) {
    return assertThrows(SesException.class, () -> text(template, data));
  }

  static String numbers(int n) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(1);
    }
    return sb.append("]").toString();
  }

  @Test
  void whatSesTemplatesUseWorks() {
    assertEquals("0:a 1:b ", text("{{#each items}}{{@index}}:{{this}} {{/each}}", "{\"items\":[\"a\",\"b\"]}"));
    assertEquals("yes-no", text("{{#if a}}yes{{/if}}-{{#unless a}}yes{{else}}no{{/unless}}", "{\"a\":true}"));
    assertEquals("Ann 7", text("{{#with user}}{{name}} {{age}}{{/with}}", "{\"user\":{\"name\":\"Ann\",\"age\":7}}"));
    assertEquals("v", text("{{lookup o \"k\"}}", "{\"o\":{\"k\":\"v\"}}"));
    assertEquals("20 2.5", text("{{total}} {{half}}", "{\"total\":20.0,\"half\":2.5}"), "whole numbers print as SES prints them");
  }

  /**
   * Nesting deep enough to exhaust the parser's (or the renderer's) stack is the template's fault: a 400, never a
   * StackOverflowError that would reach the caller as a 500.
   */
  @Test
  void aTemplateNestedTooDeeplyIsABadRequest() {
    for (int depth : new int[] {500, 5_000, 20_000}) {
      String template = "{{#if a}}".repeat(depth) + "x" + "{{/if}}".repeat(depth);
      try {
        assertEquals("x", text(template, "{\"a\":true}"));
      } catch (SesException e) {
        assertEquals(400, e.error().status, e.getMessage());
        assertTrue(e.getMessage().contains("nested too deeply"), e.getMessage());
      }
    }
    assertEquals("x", text("{{#if a}}".repeat(100) + "x" + "{{/if}}".repeat(100), "{\"a\":true}"));
  }

  /** Nested loops inside a block: Handlebars builds a block's output in memory, where the output cap cannot see it. */
  @Test
  void nestedLoopsFailBeforeTheyFillTheHeap() {
    String s = "x".repeat(1000);
    SesException e = refused("{{#if s}}{{#each a}}{{#each ../a}}{{{../../s}}}{{/each}}{{/each}}{{/if}}",
        "{\"s\":\"" + s + "\",\"a\":" + numbers(1000) + "}");
    assertTrue(e.getMessage().contains("cannot be rendered"), e.getMessage());
  }

  /**
   * A list prints its items joined by commas, as JavaScript does, and what that prints is charged: numbers, booleans,
   * nulls and objects, not only strings. A list of 90,000 zeros printed once per item would be 16 billion characters
   * built inside a block, from 180 KB of data.
   */
  @Test
  void printingAListIsChargedWhateverItHolds() {
    assertEquals("1,,true,[object Object],a,2,3", text("{{a}}", "{\"a\":[1,null,true,{},\"a\",[2,3]]}"));
    SesException e = refused("{{#if a}}{{#each a}}{{{../a}}}{{/each}}{{/if}}", "{\"a\":" + zeros(90_000) + "}");
    assertTrue(e.getMessage().contains("cannot be rendered"), e.getMessage());
    SesException objects = refused("{{#if a}}{{#each a}}{{{../a}}}{{/each}}{{/if}}",
        "{\"a\":[" + "{},".repeat(30_000) + "{}]}");
    assertTrue(objects.getMessage().contains("cannot be rendered"), objects.getMessage());
    // long numbers: the commas alone would charge one character in seventeen
    SesException numbers = refused("{{#if a}}{{#each a}}{{{../a}}}{{/each}}{{/if}}",
        "{\"a\":[" + "1234567890123456,".repeat(2_999) + "1234567890123456]}");
    assertTrue(numbers.getMessage().contains("cannot be rendered"), numbers.getMessage());
  }

  private static String zeros(int n) {
    return "[" + "0,".repeat(n - 1) + "0]";
  }

  /** Loops that print nothing still cost time: three nested over 100,000 items would run for days. */
  @Test
  void loopsAreCountedEvenWhenTheyPrintNothing() {
    SesException e = refused("{{#each a}}{{#each ../a}}{{#each ../../a}}{{/each}}{{/each}}{{/each}}",
        "{\"a\":" + numbers(50_000) + "}");
    assertTrue(e.getMessage().contains("loops would run more than"), e.getMessage());
  }

  /** Printing a value many times inside a block (no loop at all) is charged too: each print, where it happens. */
  @Test
  void aValuePrintedOverAndOverInsideABlockIsCharged() {
    String s = "z".repeat(200_000);
    SesException e = refused("{{#with s}}" + "{{{this}}}".repeat(200) + "{{/with}}", "{\"s\":\"" + s + "\"}");
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
    // escaping makes a string up to six times longer: charged as escaped (200 prints of 40,000 quotes)
    SesException escaped = refused("{{#with s}}" + "{{this}}".repeat(200) + "{{/with}}",
        "{\"s\":\"" + "\\\"".repeat(40_000) + "\"}");
    assertTrue(escaped.getMessage().contains("too large"), escaped.getMessage());
    assertEquals("[object Object][object Object]", text("{{#each a}}{{{../this}}}{{/each}}", "{\"a\":[1,2]}"),
        "an object prints as in JavaScript, not as the whole data");
    assertEquals("1,x", text("{{{a}}}", "{\"a\":[1,\"x\"]}"));
  }

  @Test
  void theDataIsAllATemplateSees() {
    refused("{{#*inline \"p\"}}x{{/inline}}{{> p}}", "{}");
    refused("{{> p}}", "{}");
    refused("{{i18nJs \"messages\"}}", "{}");
    refused("{{embedded \"x\"}}", "{}");
    SesException method = refused("{{name.toUpperCase}}", "{\"name\":\"ann\"}");
    assertTrue(method.getMessage().contains("Attribute 'name.toUpperCase' is not present"), method.getMessage());
  }

  /** Numbers print as JavaScript prints them, not in Java's exponent form. */
  @Test
  void numbersPrintAsJavaScriptPrintsThem() {
    assertEquals("12345678.5 0.0001 10000000000000000 20 -0.5 1.5e-7 1e+21",
        text("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}}",
            "{\"a\":12345678.5,\"b\":0.0001,\"c\":1e16,\"d\":20.0,\"e\":-0.5,\"f\":1.5e-7,\"g\":1e21}"));
  }

  /**
   * What a template prints besides the data's strings, maps and lists is charged too: a map's keys ({@code @key}),
   * numbers, {@code @index}. A 50,000-character key (the longest the JSON parser takes) printed for each of 49,000
   * items of a list inside a block would be 2.5 billion characters in the block's buffer, from 150 KB of data, and a
   * 1,000-digit number printed 99,000 times 99 million.
   */
  @Test
  void keysAndNumbersAreChargedAsTheyPrint() {
    String key = "k".repeat(49_000);
    SesException keys = refused("{{#if l}}{{#each l}}{{#each ../m}}{{@key}}{{/each}}{{/each}}{{/if}}",
        "{\"l\":" + zeros(49_000) + ",\"m\":{\"" + key + "\":0}}");
    assertTrue(keys.getMessage().contains("too large"), keys.getMessage());
    // numbers and @index, charged before the block's buffer holds them: refused for the budget, not by the output's
    // cap once the buffer is built (2 MB of indexes from 200 KB of data, against 100,000 characters)
    TemplateRenderer small = new TemplateRenderer(100_000);
    SesException indexes = assertThrows(SesException.class, () -> small.render(new EmailTemplate("t", "s",
        "{{#if l}}{{#each l}}{{@index}}{{@index}}{{@index}}{{@index}}{{this}}{{/each}}{{/if}}", null),
        "{\"l\":" + zeros(99_000) + "}"));
    assertTrue(indexes.getMessage().contains("too large"), indexes.getMessage());
    assertEquals("a=1 b=2 ", text("{{#each m}}{{@key}}={{this}} {{/each}}", "{\"m\":{\"a\":1,\"b\":2}}"));
    // whole numbers print as given (an order number of nineteen digits is not rounded), however long: what they
    // print is charged as any value's (1,000 digits printed 99,000 times inside a block are refused)
    assertEquals("1790000000000000123 1" + "0".repeat(999), text("{{a}} {{b}}",
        "{\"a\":1790000000000000123,\"b\":1" + "0".repeat(999) + "}"));
    SesException big = assertThrows(SesException.class, () -> text("{{#if l}}{{#each l}}{{{../b}}}{{/each}}{{/if}}",
        "{\"l\":" + zeros(99_000) + ",\"b\":1" + "0".repeat(999) + "}"));
    assertTrue(big.getMessage().contains("too large"), big.getMessage());
  }

  /**
   * Handlebars.java's own helpers that SES's Handlebars does not have: a variable of the data's that bears one's name
   * prints as the data says ({@code {{partial}}}); the helper itself is refused.
   */
  @Test
  void aDataValueNamedAfterARefusedHelperPrints() {
    assertEquals("Refund: half, 3", text("Refund: {{partial}}, {{block}}", "{\"partial\":\"half\",\"block\":3}"));
    SesException helper = refused("{{partial \"x\"}}", "{\"partial\":\"half\"}");
    assertTrue(helper.getMessage().contains("partial helper is not supported"), helper.getMessage());
    refused("{{partial}}", "{}");
  }

  /**
   * Stored templates stay compiled; a send's own template only when small, and apart from them: sends varying large
   * templates of their own neither fill the heap with compiled forms nor push out the stored templates'.
   */
  @Test
  void aSendsOwnLargeTemplatesAreNotKept() {
    TemplateRenderer r = new TemplateRenderer(1_000_000);
    EmailTemplate stored = new EmailTemplate("t", "s", "Hi {{name}}", null);
    TemplateRenderer.Compiled first = r.compile(stored, true);
    for (int i = 0; i < 5; i++) {
      EmailTemplate own = new EmailTemplate("inline", "s", "x".repeat(400_000) + "{{a}}" + i, null);
      r.compile(own, false);
      assertTrue(!r.kept(own), "a 400 KB template of a send's own is kept");
    }
    for (int i = 0; i < 100; i++) { // 15 KB each: kept, 1.5 MB in all
      r.compile(new EmailTemplate("inline", "s", "x".repeat(15_000) + "{{a}}" + i, null), false);
    }
    EmailTemplate small = new EmailTemplate("inline", "s", "Hello {{a}}", null);
    assertTrue(r.compile(small, false) == r.compile(small, false), "a small template of a send's own is compiled once");
    assertTrue(r.compile(stored, true) == first, "the stored template was compiled again");
  }

  /** A budget an entry would overdraw is not taken: the rendering after it has it all. */
  @Test
  void aRefusedChargeTakesNothing() {
    TemplateRenderer r = new TemplateRenderer(1_000_000);
    TemplateRenderer.Compiled c = r.compile(new EmailTemplate("t", "s", "Hi {{name}}{{#each items}}{{this}}{{/each}}",
        null), true);
    TemplateRenderer.Budget budget = r.budget();
    assertThrows(SesException.class, () -> r.render(c, "{\"name\":\"A\",\"items\":" + numbers(100_001) + "}",
        budget));
    assertEquals("Hi B12", r.render(c, "{\"name\":\"B\",\"items\":[1,2]}", budget).text());
  }

  /** The entries of a bulk send share one budget: fifty large renderings cannot all be held. */
  @Test
  void renderingsSharingABudgetStopWhenItIsSpent() {
    TemplateRenderer small = new TemplateRenderer(100_000);
    EmailTemplate t = new EmailTemplate("t", "s", "{{#each a}}{{{s}}}{{/each}}", null);
    TemplateRenderer.Compiled c = small.compile(t, true);
    String data = "{\"s\":\"" + "y".repeat(1_000) + "\",\"a\":" + numbers(50) + "}"; // 50,000 characters each
    TemplateRenderer.Budget budget = small.budget();
    int rendered = 0;
    try {
      for (int i = 0; i < 50; i++) {
        small.render(c, data, budget);
        rendered++;
      }
    } catch (SesException e) {
      assertTrue(e.getMessage().contains("too large"), e.getMessage());
    }
    assertTrue(rendered >= 1 && rendered < 10, rendered + " renderings");
  }
}
