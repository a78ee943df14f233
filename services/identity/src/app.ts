import { type ServiceContext, servicePlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { usersController } from "./users";

export const identityApp = (context: ServiceContext) =>
  new Elysia().use(servicePlugin(context)).use(usersController(context));

/** The app's type, for typed calls from other parts of the platform (ServiceClient.api). */
export type IdentityApp = ReturnType<typeof identityApp>;
