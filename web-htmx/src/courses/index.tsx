/** @jsxImportSource @kitajs/html */
import { type AuthUser, answerError, HttpError } from "@lab/shared";
import { WEB_ROUTES, webLinks } from "@lab/shared/ui";
import { Elysia, t } from "elysia";
import type { CourseApp } from "../../../services/course/src/app";
import type { CreateCourseInput } from "../../../services/course/src/courses/model";
import type { IdentityApp } from "../../../services/identity/src/app";
import type { WebContext } from "../context";
import {
  type CourseFacts,
  courseFacts,
  EnrollPanel,
  enroll,
  enrollmentState,
  idempotencyKeyFrom,
} from "../enrollments";
import { fieldErrors, formValues } from "../forms";
import { html, isFragmentRequest, seeOther } from "../http";
import { UnreadBadge } from "../layout";
import { pages, renderPage, unreadCount } from "../pages";
import { sessionToken } from "../session";
import { CourseForm, type CourseFormValues, CoursePage, EMPTY_COURSE, VerificationPending } from "./views";

const COURSE_HINTS: Record<string, string> = {
  title: "Enter a title (up to 200 characters).",
  description: "Keep the description under 5,000 characters.",
  level: "Choose a level.",
  price_cents: "Enter a price like 19.99, or 0 for a free course.",
  duration_hours: "Enter whole hours, at least 1.",
};

const PRICE = /^\d{1,7}(\.\d{1,2})?$/;

const NEW_COURSE_PAGE = {
  title: "New course",
  description: "Publish a course on Coursework Lab: its title, description, level, price and length.",
};

/** The form's values in the course service's terms; what cannot be converted is an error on its field. */
function courseInput(values: CourseFormValues) {
  const errors: Record<string, string> = {};
  const price = values.price.replace(/^\$/, "");
  if (!PRICE.test(price)) errors.price = COURSE_HINTS.price_cents as string;
  if (!/^\d{1,5}$/.test(values.duration_hours) || Number(values.duration_hours) < 1) {
    errors.duration_hours = COURSE_HINTS.duration_hours as string;
  }
  if (!values.title) errors.title = COURSE_HINTS.title as string;
  const input = {
    title: values.title,
    description: values.description,
    level: values.level,
    price_cents: Math.round(Number(price) * 100),
    duration_hours: Number(values.duration_hours),
  };
  return { input, errors };
}

/** An id from the path, or null for anything that is not one (the page is then a 404). */
const courseId = (raw: string) => (/^[1-9]\d{0,9}$/.test(raw) && Number(raw) <= 2_147_483_647 ? Number(raw) : null);

export const coursesController = (context: WebContext) =>
  new Elysia({ name: "web.courses" })
    .use(pages(context))
    .get(
      WEB_ROUTES.newCourse,
      async ({ page, me, request }) => {
        if (!me.is_verified) {
          // the token says unverified until the next login; identity knows whether an admin verified since
          const fresh = await context.services.api<IdentityApp>("identity", { token: sessionToken(request) }).me.get();
          const verifiedSince = fresh.data?.is_verified === true;
          return page({
            ...NEW_COURSE_PAGE,
            status: 403,
            body: <VerificationPending verifiedSince={verifiedSince} />,
          });
        }
        return page({ ...NEW_COURSE_PAGE, body: <CourseForm values={EMPTY_COURSE} /> });
      },
      { signedIn: ["teacher"] },
    )
    .post(
      WEB_ROUTES.newCourse,
      async ({ page, me, body, request }) => {
        if (!me.is_verified) {
          return page({ ...NEW_COURSE_PAGE, status: 403, body: <VerificationPending verifiedSince={false} /> });
        }
        const values = formValues(body, ["title", "description", "level", "price", "duration_hours"]);
        const { input, errors } = courseInput(values);
        if (Object.keys(errors).length > 0) {
          return page({ ...NEW_COURSE_PAGE, status: 422, body: <CourseForm values={values} errors={errors} /> });
        }
        const answer = await context.services
          .api<CourseApp>("course", { token: sessionToken(request) })
          // the level as chosen: the course service checks it and names the field if it refuses it (422)
          .courses.post(input as CreateCourseInput);
        if (!answer.error) return seeOther(request, webLinks.course(answer.data.id));
        const refusal = answerError("course", answer);
        if (refusal.status === 422) {
          const { price_cents, ...rest } = fieldErrors(refusal, COURSE_HINTS);
          const shown = price_cents ? { ...rest, price: price_cents } : rest;
          return page({ ...NEW_COURSE_PAGE, status: 422, body: <CourseForm values={values} errors={shown} /> });
        }
        return page({
          ...NEW_COURSE_PAGE,
          status: refusal.status,
          body: <CourseForm values={values} error={refusal.message} />,
        });
      },
      { signedIn: ["teacher"], body: t.Record(t.String(), t.String()) },
    )
    .get(
      WEB_ROUTES.course,
      async ({ params, user, request }) => {
        const id = courseId(params.id);
        if (id === null) throw new HttpError(404, "not_found", "There is no such course.");
        const [course, state] = await Promise.all([
          courseFacts(context, id),
          enrollmentState(context, user, sessionToken(request), id),
        ]);
        return coursePage(context, request, user, course, <EnrollPanel course={course} user={user} state={state} />);
      },
      { params: t.Object({ id: t.String() }) },
    )
    .post(
      WEB_ROUTES.enroll,
      async ({ params, body, me, request }) => {
        const id = courseId(params.id);
        if (id === null) throw new HttpError(404, "not_found", "There is no such course.");
        const course = await courseFacts(context, id);
        const key = idempotencyKeyFrom(body.idempotency_key);
        const result = await enroll(context, me, sessionToken(request), course, key);
        const panel = (
          <EnrollPanel course={course} user={me} state={result.state} outcome={result.outcome} idempotencyKey={key} />
        );
        if (isFragmentRequest(request)) {
          // the panel, plus the new count and unread badge swapped out-of-band
          const [count, unread] = await Promise.all([
            enrollmentCount(context, id),
            unreadCount(context, sessionToken(request)),
          ]);
          const oob = (
            <>
              <p id="enrollment-count" class="text-sm text-slate-600" hx-swap-oob="true">
                {count}
              </p>
              {unread !== null && <UnreadBadge count={unread} oob />}
            </>
          );
          return html((await panel) + (await oob), result.status);
        }
        if (result.status === 201) return seeOther(request, webLinks.course(id));
        return coursePage(context, request, me, course, panel, result.status);
      },
      { signedIn: ["student"], body: t.Object({ idempotency_key: t.Optional(t.String()) }) },
    );

async function enrollmentCount(context: WebContext, id: number) {
  try {
    const count = await context.services.fragment("enrollment", `/enrollments/course/${id}/count`);
    return count.ok ? count.html : COUNT_UNAVAILABLE;
  } catch {
    return COUNT_UNAVAILABLE;
  }
}

const COUNT_UNAVAILABLE = "Enrollment count unavailable right now.";

/** The course page: the course service's detail fragment, the enrollment count, and the given Enroll panel. */
async function coursePage(
  context: WebContext,
  request: Request,
  user: AuthUser | null,
  course: CourseFacts,
  panel: JSX.Element,
  status = 200,
) {
  const [detail, count] = await Promise.all([
    context.services.fragment("course", `/courses/${course.id}`),
    enrollmentCount(context, course.id),
  ]);
  return renderPage(context, request, user, {
    title: course.title,
    description: `${course.title}: a ${course.price_cents === 0 ? "free" : `$${(course.price_cents / 100).toFixed(2)}`} course on Coursework Lab. What it teaches, its level and length, its teacher, and how to enroll.`,
    status: detail.ok ? status : detail.status,
    body: detail.ok ? <CoursePage detail={detail.html} count={count} panel={panel} /> : detail.html,
  });
}
