import { type ServiceContext, servicePlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { coursesController } from "./courses";

export const courseApp = (context: ServiceContext) =>
  new Elysia().use(servicePlugin(context)).use(coursesController(context));
