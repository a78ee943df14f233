import {
  authGuard,
  errorResponses,
  htmlFragments,
  jsonAnswer,
  type ServiceContext,
  unprocessable,
  wantsHtml,
  withPageDefaults,
} from "@lab/shared";
import { Elysia } from "elysia";
import { BatchQuery, Course, CourseBatch, CourseIdParams, CoursePage, CreateCourseBody, ListQuery } from "./model";
import { CourseService, searchLimits } from "./service";
import { CourseCreated, CourseDetail, CourseList } from "./views";

export const coursesController = ({ db, config, cache }: ServiceContext) => {
  const courses = new CourseService(db, cache, searchLimits(config));
  // JSON callers get the course's cached text as it is; HTMX's fragment needs the course itself
  const courseById = (id: number, request: Request, set: { headers: Record<string, unknown> }) =>
    wantsHtml(request) ? courses.byId(id) : courses.byIdJson(id).then((text) => jsonAnswer(text, set));
  return new Elysia({ name: "course.courses", prefix: "/courses", detail: { tags: ["courses"] } })
    .use(authGuard(config.JWT_SECRET))
    .use(htmlFragments)
    .get("", ({ query }) => courses.list(withPageDefaults(query)), {
      query: ListQuery,
      response: { 200: CoursePage, ...errorResponses({ 422: true }) },
      fragment: CourseList,
    })
    .get("/batch", ({ query }) => courses.byIds(query.ids.split(",").map(Number)), {
      query: BatchQuery,
      response: { 200: CourseBatch, ...errorResponses({ 422: true }) },
      detail: { description: "Several courses by id in one call (e.g. titles for a list of enrollments)" },
    })
    .get("/:id", ({ params, request, set }) => courseById(params.id, request, set), {
      params: CourseIdParams,
      response: { 200: Course, ...errorResponses({ 404: "No course has this id", 422: true }) },
      fragment: CourseDetail,
    })
    .post(
      "",
      async ({ body, user, set }) => {
        if (!body.title.trim()) throw unprocessable("title", "must not be blank");
        set.status = 201;
        return courses.create(body, user);
      },
      {
        auth: { verifiedTeacher: true },
        body: CreateCourseBody,
        response: { 201: Course, ...errorResponses({ 400: true, 422: true }) },
        fragment: CourseCreated,
      },
    );
};
