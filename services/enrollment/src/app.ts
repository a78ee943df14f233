import { type ServiceContext, servicePlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { enrollmentsController } from "./enrollments";

export const enrollmentApp = (context: ServiceContext) =>
  new Elysia().use(servicePlugin(context)).use(enrollmentsController(context));

/** The app's type, for typed calls from other parts of the platform (ServiceClient.api). */
export type EnrollmentApp = ReturnType<typeof enrollmentApp>;
