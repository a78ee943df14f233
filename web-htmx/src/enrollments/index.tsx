/** @jsxImportSource @kitajs/html */
import { type AuthUser, formatPrice, HttpError, queryString } from "@lab/shared";
import { WEB_ROUTES } from "@lab/shared/ui";
import { Elysia, t } from "elysia";
import type { WebContext } from "../context";
import { pages } from "../pages";
import { messageOf, serviceLabel } from "../services";
import { sessionToken } from "../session";
import { type CourseFacts, type EnrollmentState, type EnrollOutcome, MyCoursesPage } from "./views";

export { type CourseFacts, type EnrollmentState, type EnrollOutcome, EnrollPanel } from "./views";

/** Enough of the newest enrollments to tell whether this course is among them. */
const ENROLLMENTS_CHECKED = 100;

export async function enrollmentState(
  context: WebContext,
  user: AuthUser | null,
  token: string | null,
  courseId: number,
): Promise<EnrollmentState> {
  if (user?.role !== "student") return "open";
  try {
    const answer = await context.services.call("enrollment", "GET", `/enrollments/me?limit=${ENROLLMENTS_CHECKED}`, {
      token,
    });
    if (!answer.ok) return "unknown";
    const items: { course_id: number }[] = answer.json.items;
    return items.some((e) => e.course_id === courseId) ? "enrolled" : "open";
  } catch {
    return "unknown";
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const idempotencyKeyFrom = (value: unknown) =>
  typeof value === "string" && UUID.test(value) ? value : crypto.randomUUID();

const ALREADY_ENROLLED = "You are already enrolled in this course.";

type EnrollResult = { status: number; state: EnrollmentState; outcome: EnrollOutcome };

const failed = (status: number, message: string): EnrollResult => ({
  status,
  state: status === 409 && /already enrolled/i.test(message) ? "enrolled" : "open",
  outcome: { kind: "failed", message },
});

/**
 * The roadmap's enrollment flow, with the student's token: a paid course is paid first
 * (POST /payments with the form's Idempotency-Key), then POST /enrollments with the payment,
 * then a notification. Every failure comes back as a sentence for the student.
 */
export async function enroll(
  context: WebContext,
  student: AuthUser,
  token: string | null,
  course: CourseFacts,
  idempotencyKey: string,
): Promise<EnrollResult> {
  const { services } = context;
  try {
    let paymentId: number | undefined;
    if (course.price_cents > 0) {
      // a student already enrolled (e.g. from another tab) must not be charged again
      if ((await enrollmentState(context, student, token, course.id)) === "enrolled") {
        return failed(409, ALREADY_ENROLLED);
      }
      const payment = await services.call("payment", "POST", "/payments", {
        token,
        body: { course_id: course.id, amount_cents: course.price_cents },
        headers: { "idempotency-key": idempotencyKey },
      });
      if (!payment.ok) return failed(payment.status, `Payment rejected: ${messageOf(payment)}`);
      paymentId = payment.json.id;
      if (payment.json.status !== "completed") {
        return failed(402, `Payment rejected: the payment is ${payment.json.status}, not completed.`);
      }
    }
    const enrollment = await services.call("enrollment", "POST", "/enrollments", {
      token,
      body: { course_id: course.id, ...(paymentId ? { payment_id: paymentId } : {}) },
    });
    if (!enrollment.ok) {
      const kept = paymentId ? ` Your payment #${paymentId} is kept: trying again will not charge you twice.` : "";
      if (enrollment.status === 409 && /already enrolled/i.test(messageOf(enrollment))) {
        return failed(409, ALREADY_ENROLLED);
      }
      if (enrollment.status === 402) return failed(402, `Payment rejected: ${messageOf(enrollment)}`);
      return failed(enrollment.status, `${messageOf(enrollment)}${kept}`);
    }
    const paid = paymentId ? ` Payment of ${formatPrice(course.price_cents)} received.` : "";
    const message = `You enrolled in “${course.title}”.${paid}`;
    const notice = await services
      .call("notification", "POST", "/notifications", { token, body: { type: "enrollment.created", message } })
      .catch(() => null);
    const unnotified = notice?.ok ? "" : " (The notification could not be sent right now.)";
    return { status: 201, state: "enrolled", outcome: { kind: "done", message: `${message}${unnotified}` } };
  } catch (error) {
    if (error instanceof HttpError) return failed(error.status, error.message);
    throw error;
  }
}

/** The course facts the flow needs, or the error a page shows for an unknown course or a down service. */
export async function courseFacts(context: WebContext, courseId: number): Promise<CourseFacts> {
  const answer = await context.services.call("course", "GET", `/courses/${courseId}`);
  if (answer.ok) return answer.json as CourseFacts;
  if (answer.status === 404) throw new HttpError(404, "not_found", "There is no such course.");
  throw new HttpError(
    answer.status >= 500 ? 503 : answer.status,
    "unavailable",
    `The ${serviceLabel("course")} service could not answer: ${messageOf(answer)}`,
  );
}

export const enrollmentsController = (context: WebContext) =>
  new Elysia({ name: "web.enrollments" }).use(pages(context)).get(
    WEB_ROUTES.myCourses,
    async ({ page, request, query }) => {
      const token = sessionToken(request);
      const [enrollments, payments] = await Promise.all([
        context.services.fragment("enrollment", `/enrollments/me${queryString({ offset: query.offset })}`, token),
        context.services.fragment("payment", "/payments/me", token).catch(() => null),
      ]);
      return page({
        title: "My courses",
        status: enrollments.status,
        body: <MyCoursesPage enrollments={enrollments.html} payments={payments?.ok ? payments.html : null} />,
      });
    },
    { signedIn: ["student"], query: t.Object({ offset: t.Optional(t.String()) }) },
  );
