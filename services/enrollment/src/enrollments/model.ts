import { PageOf } from "@lab/shared";
import { t } from "elysia";

const Id = t.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const CreateEnrollmentBody = t.Object({
  course_id: Id,
  payment_id: t.Optional(
    t.Integer({
      minimum: 1,
      maximum: 2_147_483_647,
      description: "Required for a paid course: the caller's completed payment for it (ignored for a free course)",
    }),
  ),
});

export const Enrollment = t.Object({
  id: t.Integer(),
  student_id: t.Integer(),
  course_id: t.Integer(),
  payment_id: t.Nullable(t.Integer()),
  price_cents: t.Integer({ description: "The course's price when the student enrolled" }),
  created_at: t.Date(),
});

export const MyEnrollment = t.Composite([
  Enrollment,
  t.Object({ course_title: t.Nullable(t.String({ description: "null if the course service no longer knows it" })) }),
]);

export const MyEnrollmentPage = PageOf(MyEnrollment);

export const CourseIdParams = t.Object({ id: Id });

export const EnrollmentCount = t.Object({ course_id: t.Integer(), count: t.Integer() });

export type CreateEnrollmentInput = typeof CreateEnrollmentBody.static;
export type EnrollmentRow = typeof Enrollment.static;

/** What enrollment reads of the course service's GET /courses/:id and /courses/batch. */
export type CourseFacts = { id: number; title: string; price_cents: number };
/** What enrollment reads of the payment service's GET /payments/:id. */
export type PaymentFacts = { id: number; status: string; student_id: number; course_id: number; amount_cents: number };
