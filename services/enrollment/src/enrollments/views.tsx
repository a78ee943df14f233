/** @jsxImportSource @kitajs/html */
import type { FragmentContext } from "@lab/shared";
import {
  CardList,
  EmptyState,
  formatDate,
  formatPrice,
  Link,
  Meta,
  Notice,
  Pager,
  RowCard,
  Stack,
  webLinks,
} from "@lab/shared/ui";
import type { EnrollmentRow } from "./model";

type MyEnrollment = EnrollmentRow & { course_title: string | null };
type Page = { items: MyEnrollment[]; limit: number; offset: number; has_more: boolean };

/** "My courses": each enrollment with its course, what was paid and when. */
export const MyEnrollments = (page: Page, { query }: FragmentContext) => (
  <Stack>
    {page.items.length === 0 && page.offset === 0 ? (
      <EmptyState>
        You are not enrolled in any course yet. <Link to={webLinks.catalog()} text="Find one in the catalog" />.
      </EmptyState>
    ) : (
      <CardList label="My courses">
        {page.items.map((enrollment) => (
          <RowCard>
            <Link
              to={webLinks.course(enrollment.course_id)}
              text={enrollment.course_title ?? `Course ${enrollment.course_id}`}
              look="strong"
              data={{ "course-id": String(enrollment.course_id) }}
            />
            <Meta
              text={`${enrollment.price_cents ? `Paid ${formatPrice(enrollment.price_cents)}` : "Free"} · enrolled ${formatDate(enrollment.created_at)}`}
            />
          </RowCard>
        ))}
      </CardList>
    )}
    <Pager
      previous={
        page.offset > 0
          ? webLinks.myCourses({ offset: Math.max(0, page.offset - page.limit), limit: query.limit })
          : undefined
      }
      next={page.has_more ? webLinks.myCourses({ offset: page.offset + page.limit, limit: query.limit }) : undefined}
    />
  </Stack>
);

export const EnrollmentCount = ({ count }: { course_id: number; count: number }) => (
  <span data-count={String(count)} safe>
    {count === 1 ? "1 student enrolled" : `${count} students enrolled`}
  </span>
);

export const EnrollmentCreated = (enrollment: EnrollmentRow) => (
  <Notice data={{ "enrollment-id": String(enrollment.id) }}>
    You are enrolled. <Link to={webLinks.myCourses()} text="Go to My courses" />
  </Notice>
);
