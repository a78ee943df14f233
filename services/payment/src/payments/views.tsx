/** @jsxImportSource @kitajs/html */
import { formatDate, formatPrice } from "@lab/shared";
import type { PaymentRow } from "./model";

type Page = { items: PaymentRow[]; limit: number; offset: number; has_more: boolean };

export const PaymentReceipt = (payment: PaymentRow) => (
  <div class="notice" role="status" data-payment-id={String(payment.id)}>
    <span safe>{`Payment #${payment.id} of ${formatPrice(payment.amount_cents)} ${payment.status}.`}</span>
  </div>
);

/** The student's payments, newest first. */
export const PaymentList = (page: Page) =>
  page.items.length === 0 ? (
    <p class="text-sm text-slate-600">No payments yet.</p>
  ) : (
    <table class="w-full text-left text-sm">
      <caption class="sr-only">Payments</caption>
      <thead class="text-xs uppercase tracking-wide text-slate-500">
        <tr>
          <th scope="col" class="py-2">
            Payment
          </th>
          <th scope="col">Course</th>
          <th scope="col">Amount</th>
          <th scope="col">Status</th>
          <th scope="col">Date</th>
        </tr>
      </thead>
      <tbody class="divide-y divide-slate-200">
        {page.items.map((payment) => (
          <tr>
            <td class="py-2" safe>
              {`#${payment.id}`}
            </td>
            <td>
              <a href={`/courses/${payment.course_id}`} safe>
                {`Course ${payment.course_id}`}
              </a>
            </td>
            <td safe>{formatPrice(payment.amount_cents)}</td>
            <td class="capitalize" safe>
              {payment.status}
            </td>
            <td safe>{formatDate(payment.created_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
