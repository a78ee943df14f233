/** @jsxImportSource @kitajs/html */
import { DataTable, EmptyState, formatDate, formatPrice, Notice, webLinks } from "@lab/shared/ui";
import type { PaymentRow } from "./model";

type Page = { items: PaymentRow[]; limit: number; offset: number; has_more: boolean };

export const PaymentReceipt = (payment: PaymentRow) => (
  <Notice data={{ "payment-id": String(payment.id) }}>
    <span safe>{`Payment #${payment.id} of ${formatPrice(payment.amount_cents)} ${payment.status}.`}</span>
  </Notice>
);

const COLUMNS = [
  { label: "Payment" },
  { label: "Course" },
  { label: "Amount" },
  { label: "Status", capitalized: true },
  { label: "Date" },
];

/** The student's payments, newest first. */
export const PaymentList = (page: Page) =>
  page.items.length === 0 ? (
    <EmptyState bare text="No payments yet." />
  ) : (
    <DataTable
      caption="Payments"
      columns={COLUMNS}
      rows={page.items.map((payment) => [
        `#${payment.id}`,
        { to: webLinks.course(payment.course_id), text: `Course ${payment.course_id}` },
        formatPrice(payment.amount_cents),
        payment.status,
        formatDate(payment.created_at),
      ])}
    />
  );
