/** @jsxImportSource @kitajs/html */
import { WEB_ROUTES, webLinks } from "@lab/shared/ui";
import { Elysia } from "elysia";
import type { WebContext } from "../context";
import { fieldErrors, formValues } from "../forms";
import { safeNext } from "../http";
import { pages } from "../pages";
import { messageOf } from "../services";
import { clearedSessionCookie, sessionCookie } from "../session";
import { LoginForm, RegisterForm } from "./views";

/** What each register field needs, in words, when the identity service refuses it. */
const REGISTER_HINTS: Record<string, string> = {
  full_name: "Enter your name (up to 200 characters).",
  email: "Enter a valid email address.",
  password: "Use at least 8 characters (up to 128).",
  role: "Choose student or teacher.",
};

/** Signs in at the identity service and answers with the cookie and a redirect; null when refused. */
async function signIn(context: WebContext, request: Request, email: string, password: string, next: string) {
  const answer = await context.services.call("identity", "POST", "/login", { body: { email, password } });
  if (!answer.ok) return { answer };
  const { access_token, expires_in } = answer.json as { access_token: string; expires_in: number };
  const response = new Response(null, {
    status: 303,
    headers: {
      location: next,
      "set-cookie": sessionCookie(request, access_token, expires_in),
      "cache-control": "no-store",
    },
  });
  return { answer, response };
}

export const accountController = (context: WebContext) =>
  new Elysia({ name: "web.account" })
    .use(pages(context))
    .get(WEB_ROUTES.login, ({ page, query }) =>
      page({ title: "Log in", body: <LoginForm values={{ email: "", next: safeNext(query.next) }} /> }),
    )
    .post(WEB_ROUTES.login, async ({ page, body, request }) => {
      const values = formValues(body, ["email", "password", "next"]);
      const next = safeNext(values.next);
      if (values.email && values.password) {
        const { answer, response } = await signIn(context, request, values.email, values.password, next);
        if (response) return response;
        if (answer.status !== 401 && answer.status !== 422) {
          return page({
            title: "Log in",
            status: answer.status,
            body: <LoginForm values={{ email: values.email, next }} error={messageOf(answer)} />,
          });
        }
      }
      return page({
        title: "Log in",
        status: 401,
        body: <LoginForm values={{ email: values.email, next }} error="Invalid email or password." />,
      });
    })
    .get(WEB_ROUTES.register, ({ page }) =>
      page({ title: "Register", body: <RegisterForm values={{ email: "", full_name: "", role: "student" }} /> }),
    )
    .post(WEB_ROUTES.register, async ({ page, body, request }) => {
      const values = formValues(body, ["email", "password", "full_name", "role"]);
      const answer = await context.services.call("identity", "POST", "/register", { body: values });
      if (answer.ok) {
        const start = values.role === "teacher" ? webLinks.newCourse() : webLinks.catalog();
        const { response } = await signIn(context, request, values.email, values.password, start);
        if (response) return response;
      }
      const form = { email: values.email, full_name: values.full_name, role: values.role };
      if (answer.status === 409) {
        return page({
          title: "Register",
          status: 409,
          body: <RegisterForm values={form} errors={{ email: messageOf(answer) }} />,
        });
      }
      if (answer.status === 422 || answer.status === 400) {
        return page({
          title: "Register",
          status: 422,
          body: <RegisterForm values={form} errors={fieldErrors(answer, REGISTER_HINTS)} />,
        });
      }
      return page({
        title: "Register",
        status: answer.ok ? 502 : answer.status,
        body: <RegisterForm values={form} error={messageOf(answer)} />,
      });
    })
    .post(WEB_ROUTES.logout, () => {
      return new Response(null, {
        status: 303,
        headers: { location: webLinks.catalog(), "set-cookie": clearedSessionCookie(), "cache-control": "no-store" },
      });
    });
