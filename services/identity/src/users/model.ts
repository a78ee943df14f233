import { t } from "elysia";

const email = t.String({ format: "email", maxLength: 254, description: "Trimmed and lower-cased before use" });

export const RegisterBody = t.Object({
  email,
  password: t.String({ minLength: 8, maxLength: 128 }),
  full_name: t.String({ minLength: 1, maxLength: 200 }),
  role: t.Union([t.Literal("student"), t.Literal("teacher")], {
    description: "Admins are created from the command line, never here",
  }),
});

export const LoginBody = t.Object({
  email: t.String({ minLength: 1, maxLength: 254 }),
  password: t.String({ minLength: 1, maxLength: 128 }),
});

export const User = t.Object({
  id: t.Integer(),
  email: t.String(),
  full_name: t.String(),
  role: t.Union([t.Literal("student"), t.Literal("teacher"), t.Literal("admin")]),
  is_verified: t.Boolean(),
});

export const Token = t.Object({
  access_token: t.String(),
  token_type: t.Literal("bearer"),
  expires_in: t.Integer({ description: "Seconds until the token expires" }),
});

export const UserIdParams = t.Object({ id: t.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

export type RegisterInput = typeof RegisterBody.static;
export type UserRow = typeof User.static;
