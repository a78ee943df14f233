import { type AuthUser, type Db, notFound, type PageInput, pageOf, unprocessable } from "@lab/shared";
import type { CreatePaymentInput, PaymentRow } from "./model";

const CURRENCY = "USD";

/** What a retry must repeat exactly for its Idempotency-Key to return the stored payment. */
const requestHash = (input: CreatePaymentInput) =>
  new Bun.CryptoHasher("sha256")
    .update(JSON.stringify({ course_id: input.course_id, amount_cents: input.amount_cents }))
    .digest("hex");

/** The roadmap's mock processor: every charge completes, with a reference as a real processor would give. */
const mockCharge = () => ({
  status: "completed" as const,
  processor_ref: `mock_ch_${crypto.randomUUID().replaceAll("-", "")}`,
});

export type CreatedPayment = { payment: PaymentRow; replayed: boolean };

export class PaymentService {
  constructor(private readonly db: Db) {}

  /**
   * Charges the student and records the payment. With an Idempotency-Key, a retry (even one racing
   * the first request) gets the stored payment back: the unique (student_id, idempotency_key)
   * constraint decides which insert wins, and the loser reads the winner's row.
   */
  async create(input: CreatePaymentInput, student: AuthUser, idempotencyKey?: string): Promise<CreatedPayment> {
    const key = idempotencyKey ?? null;
    const hash = requestHash(input);
    if (key) {
      const stored = await this.byIdempotencyKey(student.id, key, hash);
      if (stored) return { payment: stored, replayed: true };
    }
    const charge = mockCharge();
    const [created] = await this.db.query<PaymentRow>`
      INSERT INTO payments (student_id, course_id, amount_cents, currency, status, processor_ref, idempotency_key, request_hash)
      VALUES (${student.id}, ${input.course_id}, ${input.amount_cents}, ${CURRENCY}, ${charge.status},
              ${charge.processor_ref}, ${key}, ${hash})
      ON CONFLICT ON CONSTRAINT payments_idempotency_key DO NOTHING
      RETURNING id, status, student_id, course_id, amount_cents, currency, processor_ref, created_at`;
    if (created) return { payment: created, replayed: false };
    // only a keyed insert can conflict: a concurrent request with the same key stored its payment first
    const winner = key ? await this.byIdempotencyKey(student.id, key, hash) : undefined;
    if (!winner) throw new Error("payment insert conflicted without a stored payment for its key");
    return { payment: winner, replayed: true };
  }

  async byId(id: number, owner: AuthUser): Promise<PaymentRow> {
    const [payment] = await this.db.query<PaymentRow>`
      SELECT id, status, student_id, course_id, amount_cents, currency, processor_ref, created_at
      FROM payments WHERE id = ${id} AND student_id = ${owner.id}`;
    // someone else's payment is "not found" too, so ids cannot be probed
    if (!payment) throw notFound("Payment");
    return payment;
  }

  async mine(owner: AuthUser, page: PageInput) {
    const rows = await this.db.query<PaymentRow>`
      SELECT id, status, student_id, course_id, amount_cents, currency, processor_ref, created_at
      FROM payments WHERE student_id = ${owner.id}
      ORDER BY created_at DESC, id DESC
      LIMIT ${page.limit + 1} OFFSET ${page.offset}`;
    return pageOf(rows, page);
  }

  private async byIdempotencyKey(studentId: number, key: string, hash: string) {
    const [stored] = await this.db.query<PaymentRow & { request_hash: string }>`
      SELECT id, status, student_id, course_id, amount_cents, currency, processor_ref, created_at, request_hash
      FROM payments WHERE student_id = ${studentId} AND idempotency_key = ${key}`;
    if (!stored) return undefined;
    if (stored.request_hash !== hash) {
      throw unprocessable("Idempotency-Key", "was already used for a payment with a different body; use a new key");
    }
    const { request_hash: _, ...payment } = stored;
    return payment;
  }
}
