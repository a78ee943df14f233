import { type ServiceContext, servicePlugin } from "@lab/shared";
import { Elysia } from "elysia";
import { paymentsController } from "./payments";

export const paymentApp = (context: ServiceContext) =>
  new Elysia().use(servicePlugin(context)).use(paymentsController(context));

/** The app's type, for typed calls from other parts of the platform (ServiceClient.api). */
export type PaymentApp = ReturnType<typeof paymentApp>;
