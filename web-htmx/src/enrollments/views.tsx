/** @jsxImportSource @kitajs/html */
import type { AuthUser } from "@lab/shared";
import { Alert, formatPrice, Link, Notice, webLinks } from "@lab/shared/ui";
import type { CourseRow } from "../../../services/course/src/courses/model";

/** What the Enroll panel shows of a course. */
export type CourseFacts = Pick<CourseRow, "id" | "title" | "price_cents">;
/** Whether the student is enrolled: `unknown` when the enrollment service did not say (the button still shows). */
export type EnrollmentState = "enrolled" | "open" | "unknown";
export type EnrollOutcome = { kind: "done" | "failed"; message: string };

/**
 * The Enroll panel of a course page. The form posts to the web app, which runs the roadmap's flow
 * (payment → enrollment → notification); HTMX swaps the answer into this panel, and without
 * JavaScript the page reloads with it. The idempotency key rides along so a retry after a failure
 * never charges twice.
 */
export const EnrollPanel = ({
  course,
  user,
  state,
  outcome,
  idempotencyKey,
}: {
  course: CourseFacts;
  user: AuthUser | null;
  state: EnrollmentState;
  outcome?: EnrollOutcome;
  idempotencyKey?: string;
}) => {
  const action = webLinks.enroll(course.id);
  const paid = course.price_cents > 0;
  let content: JSX.Element;
  if (!user) {
    content = (
      <a class="button" href={webLinks.login(webLinks.course(course.id))}>
        Log in to enroll
      </a>
    );
  } else if (user.role !== "student") {
    content = <p class="text-sm text-slate-600">Students enroll in courses; this is a {user.role} account.</p>;
  } else if (state === "enrolled") {
    content = (
      <Notice data={{ enrolled: "true" }}>
        <span safe>{outcome?.message ?? "You are enrolled in this course."}</span>{" "}
        <Link to={webLinks.myCourses()} text="Go to My courses" />
      </Notice>
    );
  } else {
    content = (
      <>
        {outcome?.kind === "failed" && <Alert text={outcome.message} />}
        <form
          method="post"
          action={action}
          hx-post={action}
          hx-target="#enroll-panel"
          hx-swap="outerHTML"
          hx-sync="this:drop"
          hx-indicator="#enroll-indicator"
        >
          <input type="hidden" name="idempotency_key" value={idempotencyKey ?? crypto.randomUUID()} />
          <button type="submit" class="button" data-testid="enroll">
            {paid ? `Buy and enroll · ${formatPrice(course.price_cents)}` : "Enroll for free"}
          </button>
          <span id="enroll-indicator" class="htmx-indicator ml-2 text-sm text-slate-500" aria-hidden="true">
            {paid ? "Paying…" : "Enrolling…"}
          </span>
        </form>
      </>
    );
  }
  return (
    <div id="enroll-panel" class="flex flex-col gap-2 sm:items-end" aria-live="polite">
      {content}
    </div>
  );
};

export const MyCoursesPage = ({ enrollments, payments }: { enrollments: string; payments: string | null }) => (
  <>
    <h1 class="text-2xl font-bold tracking-tight">My courses</h1>
    <section aria-label="Enrollments">{enrollments}</section>
    {payments !== null && (
      <section class="card flex flex-col gap-2" aria-labelledby="payments-heading">
        <h2 id="payments-heading" class="text-lg font-semibold">
          Payments
        </h2>
        {payments}
      </section>
    )}
  </>
);
