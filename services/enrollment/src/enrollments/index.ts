import { authGuard, htmlFragments, PageQuery, requestIdOf, type ServiceContext, Upstream } from "@lab/shared";
import { Elysia } from "elysia";
import { CourseIdParams, CreateEnrollmentBody, Enrollment, EnrollmentCount, MyEnrollmentPage } from "./model";
import { EnrollmentService } from "./service";
import { EnrollmentCount as CountView, EnrollmentCreated, MyEnrollments } from "./views";

export const enrollmentsController = ({ db, config }: ServiceContext) => {
  const enrollments = new EnrollmentService(db, {
    course: new Upstream("course", config.COURSE_URL, config.UPSTREAM_TIMEOUT_MS),
    payment: new Upstream("payment", config.PAYMENT_URL, config.UPSTREAM_TIMEOUT_MS),
  });
  return new Elysia({ name: "enrollment.enrollments", prefix: "/enrollments", detail: { tags: ["enrollments"] } })
    .use(authGuard(config.JWT_SECRET))
    .use(htmlFragments)
    .post(
      "",
      async ({ body, user, request, set }) => {
        const enrollment = await enrollments.enroll(body, user, requestIdOf(request));
        set.status = 201;
        return enrollment;
      },
      {
        auth: { roles: ["student"] },
        body: CreateEnrollmentBody,
        response: { 201: Enrollment },
        fragment: EnrollmentCreated,
        detail: {
          description:
            "402 for a paid course without a usable payment, 409 when already enrolled or the payment is spent, " +
            "503 when the course or payment service does not answer (nothing is written then)",
        },
      },
    )
    .get("/me", ({ query, user, request }) => enrollments.mine(user, query, requestIdOf(request)), {
      auth: true,
      query: PageQuery,
      response: { 200: MyEnrollmentPage },
      fragment: MyEnrollments,
    })
    .get("/course/:id/count", ({ params }) => enrollments.count(params.id), {
      params: CourseIdParams,
      response: { 200: EnrollmentCount },
      fragment: CountView,
    });
};
