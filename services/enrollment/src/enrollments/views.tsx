/** @jsxImportSource @kitajs/html */
import { type FragmentContext, formatDate, formatPrice, queryString } from "@lab/shared";
import type { EnrollmentRow } from "./model";

type MyEnrollment = EnrollmentRow & { course_title: string | null };
type Page = { items: MyEnrollment[]; limit: number; offset: number; has_more: boolean };

/** "My courses": each enrollment with its course, what was paid and when. */
export const MyEnrollments = (page: Page, { query }: FragmentContext) => (
  <div class="flex flex-col gap-4">
    {page.items.length === 0 && page.offset === 0 ? (
      <p class="card text-slate-600" role="status">
        You are not enrolled in any course yet. <a href="/">Find one in the catalog</a>.
      </p>
    ) : (
      <ul class="flex flex-col gap-3" aria-label="My courses">
        {page.items.map((enrollment) => (
          <li class="card flex flex-col gap-1 sm:flex-row sm:items-center sm:justify-between">
            <a
              class="link-plain font-semibold"
              href={`/courses/${enrollment.course_id}`}
              data-course-id={String(enrollment.course_id)}
              safe
            >
              {enrollment.course_title ?? `Course ${enrollment.course_id}`}
            </a>
            <span class="text-sm text-slate-500" safe>
              {`${enrollment.price_cents ? `Paid ${formatPrice(enrollment.price_cents)}` : "Free"} · enrolled ${formatDate(enrollment.created_at)}`}
            </span>
          </li>
        ))}
      </ul>
    )}
    {(page.offset > 0 || page.has_more) && (
      <nav class="flex justify-between gap-2" aria-label="Pages">
        {page.offset > 0 ? (
          <a
            class="button-secondary"
            rel="prev"
            href={`/my-courses${queryString({ offset: Math.max(0, page.offset - page.limit) || undefined, limit: query.limit })}`}
          >
            ← Previous
          </a>
        ) : (
          <span />
        )}
        {page.has_more ? (
          <a
            class="button-secondary"
            rel="next"
            href={`/my-courses${queryString({ offset: page.offset + page.limit, limit: query.limit })}`}
          >
            Next →
          </a>
        ) : (
          <span />
        )}
      </nav>
    )}
  </div>
);

export const EnrollmentCount = ({ count }: { course_id: number; count: number }) => (
  <span data-count={String(count)} safe>
    {count === 1 ? "1 student enrolled" : `${count} students enrolled`}
  </span>
);

export const EnrollmentCreated = (enrollment: EnrollmentRow) => (
  <div class="notice" role="status" data-enrollment-id={String(enrollment.id)}>
    You are enrolled. <a href="/my-courses">Go to My courses</a>
  </div>
);
