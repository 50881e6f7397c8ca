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

  /** A budget an entry would overdraw is not taken: the rendering after it has it all. */
  @Test
  void aRefusedChargeTakesNothing() {
    TemplateRenderer r = new TemplateRenderer(1_000_000);
    TemplateRenderer.Compiled c = r.compile(new EmailTemplate("t", "s", "Hi {{name}}{{#each items}}{{this}}{{/each}}",
        null));
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
    TemplateRenderer.Compiled c = small.compile(t);
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
