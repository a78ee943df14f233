/** @jsxImportSource @kitajs/html */
import type { FragmentContext } from "@lab/shared";
import {
  Badge,
  type BadgeTone,
  CardGrid,
  EmptyState,
  formatPrice,
  Heading,
  Link,
  Notice,
  Pager,
  Prose,
  Stack,
  Stat,
  Stats,
  StatusLine,
  SummaryCard,
  webLinks,
} from "@lab/shared/ui";
import type { CourseRow, Level } from "./model";

const LEVEL_TONE: Record<Level, BadgeTone> = { beginner: "green", intermediate: "amber", advanced: "red" };

export const LevelBadge = ({ level }: { level: Level }) => <Badge tone={LEVEL_TONE[level]} text={level} />;

const hours = (n: number) => `${n} ${n === 1 ? "hour" : "hours"}`;

/** One course in the catalog: what a student needs to decide whether to open it. */
export const CourseCard = ({ course }: { course: CourseRow }) => (
  <SummaryCard
    data={{ "course-id": String(course.id) }}
    badge={<LevelBadge level={course.level} />}
    figure={formatPrice(course.price_cents)}
    title={course.title}
    to={webLinks.course(course.id)}
    summary={course.description}
    meta={`${hours(course.duration_hours)} · by ${course.teacher_name}`}
  />
);

type Page = { items: CourseRow[]; limit: number; offset: number; has_more: boolean };

/** The catalog results: cards and paging links to the web catalog, keeping the search. */
export const CourseList = (page: Page, { query }: FragmentContext) => {
  const keep = { q: query.q?.trim(), level: query.level };
  const first = page.offset + 1;
  const last = page.offset + page.items.length;
  return (
    <Stack>
      {page.items.length === 0 ? (
        <EmptyState text={keep.q ? `No course matches “${keep.q}”.` : "No courses yet."} />
      ) : (
        <>
          <StatusLine text={`Showing ${first}–${last}${keep.q ? ` for “${keep.q}”` : ""}`} />
          <CardGrid items={page.items.map((course) => <CourseCard course={course} />)} />
        </>
      )}
      <Pager
        catalog
        previous={
          page.offset > 0 ? webLinks.catalog({ ...keep, offset: Math.max(0, page.offset - page.limit) }) : undefined
        }
        next={page.has_more ? webLinks.catalog({ ...keep, offset: page.offset + page.limit }) : undefined}
      />
    </Stack>
  );
};

/** The course page's main part; the web app adds the enrollment count and the Enroll button. */
export const CourseDetail = (course: CourseRow) => (
  <Stack tag="article" data={{ "course-id": String(course.id) }}>
    <Heading text={course.title} />
    <Stats>
      <Stat label="Level">
        <LevelBadge level={course.level} />
      </Stat>
      <Stat
        label="Price"
        value={formatPrice(course.price_cents)}
        data={{ "price-cents": String(course.price_cents) }}
      />
      <Stat label="Duration" value={hours(course.duration_hours)} />
      <Stat label="Teacher" value={course.teacher_name} />
    </Stats>
    <Prose text={course.description || "No description."} />
  </Stack>
);

/** Answer to a created course: where it now lives. */
export const CourseCreated = (course: CourseRow) => (
  <Notice>
    <p>
      Published <Link to={webLinks.course(course.id)} text={course.title} />.
    </p>
  </Notice>
);
