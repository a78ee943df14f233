import {
  authGuard,
  errorResponses,
  htmlFragments,
  PageQuery,
  requestIdOf,
  ServiceClient,
  type ServiceContext,
  withPageDefaults,
} from "@lab/shared";
import { Elysia } from "elysia";
import {
  CourseIdParams,
  CreateEnrollmentBody,
  Enrollment,
  EnrollmentCheck,
  EnrollmentCount,
  MyEnrollmentPage,
} from "./model";
import { EnrollmentService } from "./service";
import { EnrollmentCount as CountView, EnrollmentCreated, MyEnrollments } from "./views";

export const enrollmentsController = ({ db, config }: ServiceContext) => {
  const enrollments = new EnrollmentService(db, new ServiceClient(config));
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
        ...errorResponses({ 422: true }),
      },
      fragment: MyEnrollments,
    })
    .get("/me/course/:id", ({ params, user }) => enrollments.isEnrolled(user, params.id), {
      auth: true,
      params: CourseIdParams,
      response: { 200: EnrollmentCheck, ...errorResponses({ 422: true }) },
      detail: {
        description:
          "Whether the caller is enrolled in the course: one lookup, where /enrollments/me pages through them all",
      },
    })
    .get("/course/:id/count", ({ params }) => enrollments.count(params.id), {
      params: CourseIdParams,
      response: { 200: EnrollmentCount, ...errorResponses({ 422: true }) },
      fragment: CountView,
    });
};
