/** @jsxImportSource @kitajs/html */
import { answerError, type HttpError, type PeerSource } from "@lab/shared";
import { WEB_ROUTES, webLinks } from "@lab/shared/ui";
import { Elysia } from "elysia";
import type { IdentityApp } from "../../../services/identity/src/app";
import type { RegisterInput } from "../../../services/identity/src/users/model";
import { forBrowser, type WebContext } from "../context";
import { fieldErrors, formValues } from "../forms";
import { safeNext } from "../http";
import { pages } from "../pages";

const LOGIN_PAGE = {
  title: "Log in",
  description:
    "Log in to Coursework Lab to enroll in courses, publish your own as a teacher, and read your notifications.",
};
const REGISTER_PAGE = {
  title: "Register",
  description: "Create a Coursework Lab account: as a student to enroll in courses, or as a teacher to publish them.",
};

import { clearedSessionCookie, sessionCookie } from "../session";
import { LoginForm, RegisterForm } from "./views";

/** What each register field needs, in words, when the identity service refuses it. */
const REGISTER_HINTS: Record<string, string> = {
  full_name: "Enter your name (up to 200 characters).",
  email: "Enter a valid email address.",
  password: "Use at least 8 characters (up to 128).",
  role: "Choose student or teacher.",
};

type Visit = { request: Request; server: PeerSource };

/** Signs in at the identity service for the browser: the cookie and a redirect, or why the service refused. */
async function signIn(context: WebContext, { request, server }: Visit, email: string, password: string, next: string) {
  const answer = await context.services
    .api<IdentityApp>("identity", forBrowser(context.config, request, server))
    .login.post({ email, password });
  if (answer.error) return { refusal: answerError("identity", answer) };
  const { access_token, expires_in } = answer.data;
  const response = new Response(null, {
    status: 303,
    headers: {
      location: next,
      "set-cookie": sessionCookie(request, access_token, expires_in),
      "cache-control": "no-store",
    },
  });
  return { response };
}

export const accountController = (context: WebContext) =>
  new Elysia({ name: "web.account" })
    .use(pages(context))
    .get(WEB_ROUTES.login, ({ page, query }) =>
      page({ ...LOGIN_PAGE, body: <LoginForm values={{ email: "", next: safeNext(query.next) }} /> }),
    )
    .post(WEB_ROUTES.login, async ({ page, body, request, server }) => {
      const values = formValues(body, ["email", "password", "next"]);
      const next = safeNext(values.next);
      if (values.email && values.password) {
        const signedIn = await signIn(context, { request, server }, values.email, values.password, next);
        if (signedIn.response) return signedIn.response;
        const { refusal } = signedIn;
        if (refusal.status !== 401 && refusal.status !== 422) {
          return page({
            ...LOGIN_PAGE,
            status: refusal.status,
            body: <LoginForm values={{ email: values.email, next }} error={refusal.message} />,
          });
        }
      }
      return page({
        ...LOGIN_PAGE,
        status: 401,
        body: <LoginForm values={{ email: values.email, next }} error="Invalid email or password." />,
      });
    })
    .get(WEB_ROUTES.register, ({ page }) =>
      page({ ...REGISTER_PAGE, body: <RegisterForm values={{ email: "", full_name: "", role: "student" }} /> }),
    )
    .post(WEB_ROUTES.register, async ({ page, body, request, server }) => {
      const values = formValues(body, ["email", "password", "full_name", "role"]);
      // the form's values as typed: identity checks them and names each field it refuses (422)
      const registered = await context.services
        .api<IdentityApp>("identity", forBrowser(context.config, request, server))
        .register.post(values as RegisterInput);
      let refusal: HttpError;
      if (registered.error) {
        refusal = answerError("identity", registered);
      } else {
        const start = values.role === "teacher" ? webLinks.newCourse() : webLinks.catalog();
        const signedIn = await signIn(context, { request, server }, values.email, values.password, start);
        if (signedIn.response) return signedIn.response;
        refusal = signedIn.refusal;
      }
      const form = { email: values.email, full_name: values.full_name, role: values.role };
      if (refusal.status === 409) {
        return page({
          ...REGISTER_PAGE,
          status: 409,
          body: <RegisterForm values={form} errors={{ email: refusal.message }} />,
        });
      }
      if (refusal.status === 422 || refusal.status === 400) {
        return page({
          ...REGISTER_PAGE,
          status: 422,
          body: <RegisterForm values={form} errors={fieldErrors(refusal, REGISTER_HINTS)} />,
        });
      }
      return page({
        ...REGISTER_PAGE,
        status: refusal.status,
        body: <RegisterForm values={form} error={refusal.message} />,
      });
    })
    .post(WEB_ROUTES.logout, () => {
      return new Response(null, {
        status: 303,
        headers: { location: webLinks.catalog(), "set-cookie": clearedSessionCookie(), "cache-control": "no-store" },
      });
    });
