import { describe, expect, test } from "bun:test";
import { t } from "elysia";
import { jsonAnswer, responseCheck } from "../src/service";

describe("answers from stored JSON text", () => {
  test("responseCheck passes a value of the schema through and refuses any other", () => {
    const check = responseCheck(t.Object({ id: t.Integer(), created_at: t.Date() }), "thing");
    const value = { id: 1, created_at: new Date() };
    expect(check(value)).toBe(value);
    expect(() => check({ id: 1.5, created_at: new Date() })).toThrow("thing does not match its response schema");
  });

  test("jsonAnswer sends the text as it is, with Elysia's JSON content type and the headers set so far", async () => {
    const set = { headers: { "x-request-id": "r-1" } as Record<string, unknown> };
    const answer = jsonAnswer('{"id":1}', set);
    expect(answer.headers.get("content-type")).toBe("application/json;charset=utf-8");
    expect(answer.headers.get("x-request-id")).toBe("r-1");
    expect(set.headers).toEqual({});
    expect(await answer.text()).toBe('{"id":1}');
  });
});
