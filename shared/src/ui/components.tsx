/** @jsxImportSource @kitajs/html */
import type { PropsWithChildren } from "@kitajs/html";
import { CATALOG_RESULTS_ID, type WebPath } from "./routes";

/**
 * The pieces the services' fragments and the web app's pages are built from. Styling stays in here
 * (Tailwind utilities, and the classes of ./kit.css), so a service names no class and no page of the
 * web app; props say what a thing is. String props are user text and escaped; `children` is markup.
 */

/** `data-*` attributes by name without the prefix, e.g. `{ "course-id": "7" }`. */
export type Data = Record<string, string>;
const dataAttributes = (data: Data = {}) =>
  Object.fromEntries(Object.entries(data).map(([name, value]) => [`data-${name}`, value]));

type Children = PropsWithChildren;

/** Blocks one under another, e.g. a list and its pager. */
export const Stack = ({ tag = "div", data, children }: Children & { tag?: "div" | "article"; data?: Data }) => (
  <tag of={tag} class="flex flex-col gap-4" {...dataAttributes(data)}>
    {children}
  </tag>
);

/** A page's title. */
export const Heading = ({ text }: { text: string }) => (
  <h1 class="text-2xl font-bold tracking-tight sm:text-3xl" safe>
    {text}
  </h1>
);

/** Body text that keeps the author's line breaks. */
export const Prose = ({ text }: { text: string }) => (
  <p class="whitespace-pre-line text-slate-700" safe>
    {text}
  </p>
);

/** A sentence about the whole list above or below it, e.g. "Showing 1–12". */
export const StatusLine = ({ text }: { text: string }) => (
  <p class="text-sm text-slate-500" role="status" safe>
    {text}
  </p>
);

/** Small print under or beside an item: dates, authors, amounts. */
export const Meta = ({ text }: { text: string }) => (
  <p class="text-xs text-slate-500" safe>
    {text}
  </p>
);

/** One line of an item; `strong` for one that asks for attention (e.g. unread). */
export const Line = ({ text, strong = false }: { text: string; strong?: boolean }) => (
  <p class={strong ? "font-semibold text-slate-900" : "text-slate-700"} safe>
    {text}
  </p>
);

/** Lines of one item held close together. */
export const Lines = ({ children }: Children) => <div class="flex flex-col gap-1">{children}</div>;

/** What a list shows when it has nothing, as `text` or markup: on its own card, or `bare` inside one. */
export const EmptyState = ({ text, bare = false, children }: Children & { text?: string; bare?: boolean }) => {
  const style = bare ? "text-sm text-slate-600" : "card text-slate-600";
  return text === undefined ? (
    <p class={style} role="status">
      {children}
    </p>
  ) : (
    <p class={style} role="status" safe>
      {text}
    </p>
  );
};

/** Good news, e.g. a thing was created; announced to screen readers. */
export const Notice = ({ data, children }: Children & { data?: Data }) => (
  <div class="notice" role="status" {...dataAttributes(data)}>
    {children}
  </div>
);

/** Something went wrong: the readable text, announced to screen readers. */
export const Alert = ({ text, data }: { text: string; data?: Data }) => (
  <div class="error" role="alert" {...dataAttributes(data)} safe>
    {text}
  </div>
);

/** `plain`: dark text that turns to the link colour on hover; `strong`: the same, bold. */
export type LinkLook = "default" | "plain" | "strong";
const LINK_STYLE: Record<LinkLook, string | undefined> = {
  default: undefined,
  plain: "link-plain",
  strong: "link-plain font-semibold",
};

/** A link to a page of the web app. */
export const Link = ({
  to,
  text,
  look = "default",
  data,
}: {
  to: WebPath;
  text: string;
  look?: LinkLook;
  data?: Data;
}) => (
  <a class={LINK_STYLE[look]} href={to} {...dataAttributes(data)} safe>
    {text}
  </a>
);

export type BadgeTone = "green" | "amber" | "red";
const BADGE_TONE: Record<BadgeTone, string> = {
  green: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  amber: "bg-amber-50 text-amber-800 ring-amber-200",
  red: "bg-rose-50 text-rose-800 ring-rose-200",
};

/** A short label on a pill, e.g. a course's level. */
export const Badge = ({ tone, text }: { tone: BadgeTone; text: string }) => (
  <span class={`rounded-full px-2 py-0.5 text-xs font-medium capitalize ring-1 ${BADGE_TONE[tone]}`} safe>
    {text}
  </span>
);

/**
 * The card of one thing in a grid: a badge and a figure (e.g. the price) on top, the title linking to
 * its page, two lines of summary, and a line of small print at the bottom.
 */
export const SummaryCard = (card: {
  badge: JSX.Element;
  figure: string;
  title: string;
  to: WebPath;
  summary: string;
  meta: string;
  data?: Data;
}) => (
  <article class="card flex flex-col gap-2" {...dataAttributes(card.data)}>
    <div class="flex items-center justify-between gap-2">
      {card.badge}
      <span class="text-sm font-semibold text-slate-900" safe>
        {card.figure}
      </span>
    </div>
    <h2 class="text-lg font-semibold leading-snug">
      <Link to={card.to} text={card.title} look="plain" />
    </h2>
    <p class="line-clamp-2 text-sm text-slate-600" safe>
      {card.summary}
    </p>
    <p class="mt-auto text-xs text-slate-500" safe>
      {card.meta}
    </p>
  </article>
);

/** Cards side by side, as many columns as the screen holds. */
export const CardGrid = ({ items }: { items: JSX.Element[] }) => (
  <ul class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
    {items.map((item) => (
      <li class="flex">{item}</li>
    ))}
  </ul>
);

/** Cards one under another; `label` names the list for screen readers. */
export const CardList = ({ label, data, children }: Children & { label: string; data?: Data }) => (
  <ul class="flex flex-col gap-3" aria-label={label} {...dataAttributes(data)}>
    {children}
  </ul>
);

/** `quiet`: dealt with (e.g. read); `highlight`: asks for attention (e.g. unread). */
export type RowState = "normal" | "quiet" | "highlight";
const ROW_STATE: Record<RowState, string> = { normal: "", quiet: " opacity-75", highlight: " border-indigo-300" };

/** One card of a `CardList`: its parts stacked on a phone, in a row with room to spare. */
export const RowCard = ({
  id,
  state = "normal",
  data,
  children,
}: Children & { id?: string; state?: RowState; data?: Data }) => (
  <li
    id={id}
    class={`card flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between${ROW_STATE[state]}`}
    {...dataAttributes(data)}
  >
    {children}
  </li>
);

/** The name and value of one fact; `value` is text, or `children` markup such as a badge. */
export const Stat = ({ label, value, data, children }: Children & { label: string; value?: string; data?: Data }) => (
  <div class="stat">
    <dt safe>{label}</dt>
    {value === undefined ? (
      <dd>{children}</dd>
    ) : (
      <dd {...dataAttributes(data)} safe>
        {value}
      </dd>
    )}
  </div>
);

/** A row of `Stat`s (two on a phone, four on a wider screen). */
export const Stats = ({ children }: Children) => <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4">{children}</dl>;

/** A column of a `DataTable`; `capitalized` shows its words with a capital letter. */
export type Column = { label: string; capitalized?: boolean };
/** A table cell: text, or a link to a page of the web app. */
export type Cell = string | { to: WebPath; text: string };

/** Rows of figures under column headings. */
export const DataTable = ({
  caption,
  columns,
  rows,
}: {
  caption: string;
  columns: readonly Column[];
  rows: Cell[][];
}) => {
  // the first column carries the row's vertical padding
  const cellClass = (index: number) =>
    [index === 0 && "py-2", columns[index]?.capitalized && "capitalize"].filter(Boolean).join(" ") || undefined;
  return (
    <table class="w-full text-left text-sm">
      <caption class="sr-only" safe>
        {caption}
      </caption>
      <thead class="text-xs uppercase tracking-wide text-slate-500">
        <tr>
          {columns.map((column, index) => (
            <th scope="col" class={index === 0 ? "py-2" : undefined} safe>
              {column.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody class="divide-y divide-slate-200">
        {rows.map((row) => (
          <tr>
            {row.map((cell, index) =>
              typeof cell === "string" ? (
                <td class={cellClass(index)} safe>
                  {cell}
                </td>
              ) : (
                <td class={cellClass(index)}>
                  <Link to={cell.to} text={cell.text} />
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
};

/** A paging link; in the catalog HTMX swaps the results and records the address. */
const PageLink = ({ to, rel, label, catalog }: { to: WebPath; rel: string; label: string; catalog: boolean }) =>
  catalog ? (
    <a
      class="button-secondary"
      href={to}
      rel={rel}
      hx-get={to}
      hx-target={`#${CATALOG_RESULTS_ID}`}
      hx-push-url="true"
      safe
    >
      {label}
    </a>
  ) : (
    <a class="button-secondary" href={to} rel={rel} safe>
      {label}
    </a>
  );

/**
 * Previous and next links of a paged list, nothing when there is one page. `catalog`: the links
 * are the catalog's own, loaded into its results in place.
 */
export const Pager = ({
  previous,
  next,
  catalog = false,
}: {
  previous?: WebPath;
  next?: WebPath;
  catalog?: boolean;
}) =>
  previous || next ? (
    <nav class="flex justify-between gap-2" aria-label="Pages">
      {previous ? <PageLink to={previous} rel="prev" label="← Previous" catalog={catalog} /> : <span />}
      {next ? <PageLink to={next} rel="next" label="Next →" catalog={catalog} /> : <span />}
    </nav>
  ) : (
    ""
  );

/**
 * One button that posts to a page of the web app: works without JavaScript, and with HTMX is sent
 * in the background, its answer replacing the element `replaces` (an id).
 */
export const ActionButton = ({ to, label, replaces }: { to: WebPath; label: string; replaces: string }) => (
  <form method="post" action={to} hx-post={to} hx-target={`#${replaces}`} hx-swap="outerHTML">
    <button type="submit" class="button-secondary whitespace-nowrap" safe>
      {label}
    </button>
  </form>
);
