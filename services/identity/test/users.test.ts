import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Harness, serviceHarness } from "../../../test/support";
import { identityApp } from "../src/app";
import { UserService } from "../src/users/service";

let api: Harness;
beforeAll(async () => {
  api = await serviceHarness("identity", join(import.meta.dir, "../migrations"), identityApp);
});
afterAll(() => api.close());

const student = { email: "Ada@Example.com ", password: "correct horse", full_name: "Ada Lovelace", role: "student" };

describe("register, login, me", () => {
  test("a student registers, logs in and reads their profile", async () => {
    const registered = await api.request("POST", "/register", { body: student });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ email: "ada@example.com", role: "student", is_verified: false });
    expect(registered.body.password_hash).toBeUndefined();

    const login = await api.request("POST", "/login", {
      body: { email: "ADA@example.com", password: "correct horse" },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ token_type: "bearer", expires_in: 3600 });

    const me = await api.request("GET", "/me", { token: login.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: registered.body.id,
      email: "ada@example.com",
      full_name: "Ada Lovelace",
      role: "student",
      is_verified: false,
    });
  });

  test("an email registered twice, in any case, is a 409", async () => {
    const again = await api.request("POST", "/register", { body: { ...student, email: "ADA@EXAMPLE.COM" } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: "conflict", message: "This email is already registered" });
  });

  test("unknown email and wrong password get the same 401", async () => {
    const unknown = await api.request("POST", "/login", {
      body: { email: "nobody@example.com", password: "whatever1" },
    });
    const wrong = await api.request("POST", "/login", {
      body: { email: "ada@example.com", password: "wrong password" },
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  test("me without a token or with a forged one is a 401", async () => {
    expect((await api.request("GET", "/me")).status).toBe(401);
    expect((await api.request("GET", "/me", { token: "not.a.token" })).status).toBe(401);
  });
});

describe("bad bodies are 422 naming the field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["email", { ...student, email: "not-an-email" }, "email"],
    ["short password", { ...student, email: "b@example.com", password: "short" }, "password"],
    ["admin role", { ...student, email: "c@example.com", role: "admin" }, "role"],
    ["missing name", { email: "d@example.com", password: "long enough", role: "student" }, "full_name"],
  ];
  for (const [name, body, field] of cases) {
    test(name, async () => {
      const response = await api.request("POST", "/register", { body });
      expect(response.status).toBe(422);
      expect(response.body.error).toBe("validation");
      expect(response.body.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(response.body.message).toContain(field);
    });
  }

  test("malformed JSON is a 400, not a 500", async () => {
    const response = await api.request("POST", "/register", { body: "{not json" });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("bad_request");
  });
});

describe("verification by an admin", () => {
  test("only an admin verifies a teacher, and the teacher's next login carries it", async () => {
    const teacher = await api.request("POST", "/register", {
      body: { email: "grace@example.com", password: "teach me well", full_name: "Grace Hopper", role: "teacher" },
    });
    const users = new UserService(api.db, { secret: api.context.config.JWT_SECRET, ttlSeconds: 3600 });
    await users.create({
      email: "root@example.com",
      password: "admin password",
      full_name: "Admin",
      role: "admin",
      is_verified: true,
    });
    const adminToken = (await users.login("root@example.com", "admin password")).access_token;
    const teacherToken = (await users.login("grace@example.com", "teach me well")).access_token;

    expect((await api.request("POST", `/users/${teacher.body.id}/verify`)).status).toBe(401);
    expect((await api.request("POST", `/users/${teacher.body.id}/verify`, { token: teacherToken })).status).toBe(403);
    expect((await api.request("POST", "/users/999999/verify", { token: adminToken })).status).toBe(404);

    const verified = await api.request("POST", `/users/${teacher.body.id}/verify`, { token: adminToken });
    expect(verified.status).toBe(200);
    expect(verified.body.is_verified).toBe(true);
    const again = await users.login("grace@example.com", "teach me well");
    const me = await api.request("GET", "/me", { token: again.access_token });
    expect(me.body.is_verified).toBe(true);
  });
});
