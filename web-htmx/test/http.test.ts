import { describe, expect, test } from "bun:test";
import { webLinks } from "@lab/shared/ui";
import { safeNext } from "../src/http";

describe("safeNext: where a login may send the browser", () => {
  test("a path of this site is kept, with its query and fragment", () => {
    for (const next of ["/my-courses", "/courses/12?tab=info#top", "/lab?run=01-baseline%2Fx", "/a//b"]) {
      expect(safeNext(next)).toBe(next);
    }
  });

  test("anything a URL parser resolves to another origin falls back to the catalog", () => {
    const offSite = [
      "//evil.example/x",
      "/\\evil.example/",
      "/\t/evil.example",
      "/\t\\evil.example/",
      "/\n/evil.example",
      "/\\evil.example:99999/",
      "\\/evil.example",
      "https://evil.example/",
      "javascript:alert(1)",
      "evil.example",
      "",
    ];
    for (const next of offSite) expect(safeNext(next), JSON.stringify(next)).toBe(webLinks.catalog());
  });

  test("control characters are refused, so no header can be split", () => {
    for (const next of ["/a\r\nSet-Cookie: x=1", "/a\u0000b", "/a\u007fb", "/a\u0085b"]) {
      expect(safeNext(next), JSON.stringify(next)).toBe(webLinks.catalog());
    }
  });

  test("a path whose parsed form starts with // is refused: that form goes out as the Location", () => {
    expect(safeNext("/.//evil.example/")).toBe(webLinks.catalog());
  });

  test("characters a header cannot carry come back percent-encoded, as the browser would send them", () => {
    expect(safeNext("/courses?q=café ☃")).toBe("/courses?q=caf%C3%A9%20%E2%98%83");
  });

  test("a value that is not a string falls back to the catalog", () => {
    for (const next of [undefined, null, 42, ["/my-courses"]]) expect(safeNext(next)).toBe(webLinks.catalog());
  });
});
