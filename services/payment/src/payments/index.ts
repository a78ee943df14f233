import {
  authGuard,
  errorResponses,
  htmlFragments,
  PageQuery,
  type ServiceContext,
  withPageDefaults,
} from "@lab/shared";
import { Elysia } from "elysia";
import { CreatePaymentBody, Payment, PaymentHeaders, PaymentIdParams, PaymentPage } from "./model";
import { PaymentService } from "./service";
import { PaymentList, PaymentReceipt } from "./views";

export const paymentsController = ({ db, config }: ServiceContext) => {
  const payments = new PaymentService(db);
  return new Elysia({ name: "payment.payments", prefix: "/payments", detail: { tags: ["payments"] } })
    .use(authGuard(config.JWT_SECRET))
    .use(htmlFragments)
    .post(
      "",
      async ({ body, headers, user, set }) => {
        const { payment, replayed } = await payments.create(body, user, headers["idempotency-key"]);
        set.status = replayed ? 200 : 201;
        if (replayed) set.headers["idempotent-replayed"] = "true";
        return payment;
      },
      {
        auth: { roles: ["student"] },
        body: CreatePaymentBody,
        headers: PaymentHeaders,
        response: {
          200: Payment,
          201: Payment,
          ...errorResponses({
            400: true,
            422: "A field is invalid, or the Idempotency-Key was used with another body",
          }),
        },
        fragment: PaymentReceipt,
        detail: { description: "201 for a new payment; 200 when an Idempotency-Key retry returns the stored one" },
      },
    )
    .get("/me", ({ query, user }) => payments.mine(user, withPageDefaults(query)), {
      auth: true,
      query: PageQuery,
      response: { 200: PaymentPage, ...errorResponses({ 422: true }) },
      fragment: PaymentList,
    })
    .get("/:id", ({ params, user }) => payments.byId(params.id, user), {
      auth: true,
      params: PaymentIdParams,
      response: {
        200: Payment,
        ...errorResponses({ 404: "No payment of the caller's has this id (anyone else's is a 404 too)", 422: true }),
      },
    });
};
