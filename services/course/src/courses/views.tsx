/** @jsxImportSource @kitajs/html */
import { type FragmentContext, formatPrice, queryString } from "@lab/shared";
import type { CourseRow, Level } from "./model";

const LEVEL_STYLE: Record<Level, string> = {
  beginner: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  intermediate: "bg-amber-50 text-amber-800 ring-amber-200",
  advanced: "bg-rose-50 text-rose-800 ring-rose-200",
};

export const LevelBadge = ({ level }: { level: Level }) => (
  <span class={`rounded-full px-2 py-0.5 text-xs font-medium capitalize ring-1 ${LEVEL_STYLE[level]}`} safe>
    {level}
  </span>
);

const hours = (n: number) => `${n} ${n === 1 ? "hour" : "hours"}`;

/** One course in the catalog: what a student needs to decide whether to open it. */
export const CourseCard = ({ course }: { course: CourseRow }) => (
  <article class="card flex flex-col gap-2" data-course-id={String(course.id)}>
    <div class="flex items-center justify-between gap-2">
      <LevelBadge level={course.level} />
      <span class="text-sm font-semibold text-slate-900" safe>
        {formatPrice(course.price_cents)}
      </span>
    </div>
    <h2 class="text-lg font-semibold leading-snug">
      <a class="link-plain" href={`/courses/${course.id}`} safe>
        {course.title}
      </a>
    </h2>
    <p class="line-clamp-2 text-sm text-slate-600" safe>
      {course.description}
    </p>
    <p class="mt-auto text-xs text-slate-500" safe>
      {`${hours(course.duration_hours)} · by ${course.teacher_name}`}
    </p>
  </article>
);

type Page = { items: CourseRow[]; limit: number; offset: number; has_more: boolean };

/** A catalog page link that HTMX loads into the results and records in the address bar. */
const PageLink = ({ href, rel, label }: { href: string; rel: string; label: string }) => (
  <a class="button-secondary" href={href} rel={rel} hx-get={href} hx-target="#results" hx-push-url="true" safe>
    {label}
  </a>
);

/** The catalog results: cards and paging links to the web catalog (`/`), keeping the search. */
export const CourseList = (page: Page, { query }: FragmentContext) => {
  const keep = { q: query.q?.trim(), level: query.level };
  const link = (offset: number) => `/${queryString({ ...keep, offset: offset || undefined })}`;
  const first = page.offset + 1;
  const last = page.offset + page.items.length;
  return (
    <div class="flex flex-col gap-4">
      {page.items.length === 0 ? (
        <p class="card text-slate-600" role="status" safe>
          {keep.q ? `No course matches “${keep.q}”.` : "No courses yet."}
        </p>
      ) : (
        <>
          <p class="text-sm text-slate-500" role="status" safe>
            {`Showing ${first}–${last}${keep.q ? ` for “${keep.q}”` : ""}`}
          </p>
          <ul class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
            {page.items.map((course) => (
              <li class="flex">
                <CourseCard course={course} />
              </li>
            ))}
          </ul>
        </>
      )}
      {(page.offset > 0 || page.has_more) && (
        <nav class="flex justify-between gap-2" aria-label="Pages">
          {page.offset > 0 ? (
            <PageLink href={link(Math.max(0, page.offset - page.limit))} rel="prev" label="← Previous" />
          ) : (
            <span />
          )}
          {page.has_more ? <PageLink href={link(page.offset + page.limit)} rel="next" label="Next →" /> : <span />}
        </nav>
      )}
    </div>
  );
};

/** The course page's main part; the web app adds the enrollment count and the Enroll button. */
export const CourseDetail = (course: CourseRow) => (
  <article class="flex flex-col gap-4" data-course-id={String(course.id)}>
    <h1 class="text-2xl font-bold tracking-tight sm:text-3xl" safe>
      {course.title}
    </h1>
    <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4">
      <div class="stat">
        <dt>Level</dt>
        <dd>
          <LevelBadge level={course.level} />
        </dd>
      </div>
      <div class="stat">
        <dt>Price</dt>
        <dd data-price-cents={String(course.price_cents)} safe>
          {formatPrice(course.price_cents)}
        </dd>
      </div>
      <div class="stat">
        <dt>Duration</dt>
        <dd safe>{hours(course.duration_hours)}</dd>
      </div>
      <div class="stat">
        <dt>Teacher</dt>
        <dd safe>{course.teacher_name}</dd>
      </div>
    </dl>
    <p class="whitespace-pre-line text-slate-700" safe>
      {course.description || "No description."}
    </p>
  </article>
);

/** Answer to a created course: where it now lives. */
export const CourseCreated = (course: CourseRow) => (
  <div class="notice" role="status">
    <p>
      Published{" "}
      <a href={`/courses/${course.id}`} safe>
        {course.title}
      </a>
      .
    </p>
  </div>
);
