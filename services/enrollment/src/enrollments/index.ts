import {
  authGuard,
  errorResponses,
  htmlFragments,
  PageQuery,
  requestIdOf,
  type ServiceContext,
  Upstream,
  withPageDefaults,
} from "@lab/shared";
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
        response: {
          201: Enrollment,
          ...errorResponses({
            400: true,
            402: "A paid course without a usable payment: none given, not the caller's, not completed, or for another course or price",
            404: "No course has this id",
            409: "Already enrolled in the course, or the payment already paid for an enrollment",
            422: true,
            502: "The course or payment service refused the request",
          }),
        },
        fragment: EnrollmentCreated,
        detail: {
          description: "Asks course (and payment, for a paid course) first: a 503 from them leaves nothing written",
        },
      },
    )
    .get("/me", ({ query, user, request }) => enrollments.mine(user, withPageDefaults(query), requestIdOf(request)), {
      auth: true,
      query: PageQuery,
      response: {
        200: MyEnrollmentPage,
        ...errorResponses({
          422: true,
          502: "The course service refused the titles' request",
        }),
      },
      fragment: MyEnrollments,
    })
    .get("/course/:id/count", ({ params }) => enrollments.count(params.id), {
      params: CourseIdParams,
      response: { 200: EnrollmentCount, ...errorResponses({ 422: true }) },
      fragment: CountView,
    });
};
