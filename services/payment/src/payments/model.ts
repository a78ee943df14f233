import { PageOf } from "@lab/shared";
import { t } from "elysia";

const Id = t.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const CreatePaymentBody = t.Object({
  course_id: Id,
  amount_cents: t.Integer({ minimum: 1, maximum: 100_000_000, description: "What the student pays, in cents" }),
});

export const PaymentHeaders = t.Object({
  "idempotency-key": t.Optional(
    t.String({
      minLength: 1,
      maxLength: 255,
      description: "A retry with the same key and body returns the same payment; another body is a 422",
    }),
  ),
});

export const PaymentStatus = t.Union([
  t.Literal("pending"),
  t.Literal("completed"),
  t.Literal("failed"),
  t.Literal("refunded"),
]);

export const Payment = t.Object({
  id: t.Integer(),
  status: PaymentStatus,
  student_id: t.Integer(),
  course_id: t.Integer(),
  amount_cents: t.Integer(),
  currency: t.String({ description: "ISO 4217 code" }),
  processor_ref: t.String({ description: "The processor's reference for this charge" }),
  created_at: t.Date(),
});

export const PaymentPage = PageOf(Payment);

export const PaymentIdParams = t.Object({ id: Id });

export type CreatePaymentInput = typeof CreatePaymentBody.static;
export type PaymentRow = typeof Payment.static;
