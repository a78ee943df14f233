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

export const EnrollmentCheck = t.Object({
  course_id: t.Integer(),
  enrolled: t.Boolean({ description: "Whether the caller is enrolled in the course, however many courses they hold" }),
});

export type CreateEnrollmentInput = typeof CreateEnrollmentBody.static;
export type EnrollmentRow = typeof Enrollment.static;
