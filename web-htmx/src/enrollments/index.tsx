/** @jsxImportSource @kitajs/html */
import { type AuthUser, answerError, dataOf, formatPrice, HttpError, queryString } from "@lab/shared";
import { WEB_ROUTES } from "@lab/shared/ui";
import { Elysia, t } from "elysia";
import type { CourseApp } from "../../../services/course/src/app";
import type { CourseRow } from "../../../services/course/src/courses/model";
import type { EnrollmentApp } from "../../../services/enrollment/src/app";
import type { NotificationApp } from "../../../services/notification/src/app";
import type { PaymentApp } from "../../../services/payment/src/app";
import type { WebContext } from "../context";
import { pages } from "../pages";
import { sessionToken } from "../session";
import { type CourseFacts, type EnrollmentState, type EnrollOutcome, MyCoursesPage } from "./views";

export { type CourseFacts, type EnrollmentState, type EnrollOutcome, EnrollPanel } from "./views";

/** Asks enrollment directly, so a student holding any number of courses is told apart. */
export async function enrollmentState(
  context: WebContext,
  user: AuthUser | null,
  token: string | null,
  courseId: number,
): Promise<EnrollmentState> {
  if (user?.role !== "student") return "open";
  const answer = await context.services
    .api<EnrollmentApp>("enrollment", { token })
    .enrollments.me.course({ id: courseId })
    .get();
  if (answer.error) return "unknown";
  return answer.data.enrolled ? "enrolled" : "open";
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
  let paymentId: number | undefined;
  if (course.price_cents > 0) {
    // a student already enrolled (e.g. from another tab) must not be charged again
    if ((await enrollmentState(context, student, token, course.id)) === "enrolled") {
      return failed(409, ALREADY_ENROLLED);
    }
    const payment = await services
      .api<PaymentApp>("payment", { token })
      .payments.post(
        { course_id: course.id, amount_cents: course.price_cents },
        { headers: { "idempotency-key": idempotencyKey } },
      );
    if (payment.error) {
      const refusal = answerError("payment", payment);
      return failed(refusal.status, refusal.status >= 500 ? refusal.message : `Payment rejected: ${refusal.message}`);
    }
    paymentId = payment.data.id;
    if (payment.data.status !== "completed") {
      return failed(402, `Payment rejected: the payment is ${payment.data.status}, not completed.`);
    }
  }
  const enrollment = await services
    .api<EnrollmentApp>("enrollment", { token })
    .enrollments.post({ course_id: course.id, ...(paymentId ? { payment_id: paymentId } : {}) });
  if (enrollment.error) {
    const refusal = answerError("enrollment", enrollment);
    if (refusal.status === 409 && /already enrolled/i.test(refusal.message)) return failed(409, ALREADY_ENROLLED);
    if (refusal.status === 402) return failed(402, `Payment rejected: ${refusal.message}`);
    const kept = paymentId ? ` Your payment #${paymentId} is kept: trying again will not charge you twice.` : "";
    return failed(refusal.status, `${refusal.message}${kept}`);
  }
  const paid = paymentId ? ` Payment of ${formatPrice(course.price_cents)} received.` : "";
  const message = `You enrolled in “${course.title}”.${paid}`;
  const notice = await services
    .api<NotificationApp>("notification", { token })
    .notifications.post({ type: "enrollment.created", message });
  const unnotified = notice.error ? " (The notification could not be sent right now.)" : "";
  return { status: 201, state: "enrolled", outcome: { kind: "done", message: `${message}${unnotified}` } };
}

/** The course, or the error a page shows for an unknown course or a service that is down. */
export async function courseFacts(context: WebContext, courseId: number): Promise<CourseRow> {
  const answer = await context.services.api<CourseApp>("course").courses({ id: courseId }).get();
  if (answer.status === 404) throw new HttpError(404, "not_found", "There is no such course.");
  return dataOf("course", answer);
}

export const enrollmentsController = (context: WebContext) =>
  new Elysia({ name: "web.enrollments" }).use(pages(context)).get(
    WEB_ROUTES.myCourses,
    async ({ page, request, query }) => {
      const token = sessionToken(request);
      const [enrollments, payments] = await Promise.all([
        context.services.fragment("enrollment", `/enrollments/me${queryString({ offset: query.offset })}`, { token }),
        context.services.fragment("payment", "/payments/me", { token }).catch(() => null),
      ]);
      return page({
        title: "My courses",
        description: "The courses you are enrolled in on Coursework Lab, and the payments you made for them.",
        status: enrollments.status,
        body: <MyCoursesPage enrollments={enrollments.html} payments={payments?.ok ? payments.html : null} />,
      });
    },
    { signedIn: ["student"], query: t.Object({ offset: t.Optional(t.String()) }) },
  );
