import { type ServiceContext, servicePlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { coursesController } from "./courses";

export const courseApp = (context: ServiceContext) =>
  new Elysia().use(servicePlugin(context)).use(coursesController(context));

/** The app's type, for typed calls from other parts of the platform (ServiceClient.api). */
export type CourseApp = ReturnType<typeof courseApp>;
