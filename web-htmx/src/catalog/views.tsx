/** @jsxImportSource @kitajs/html */
import { CATALOG_RESULTS_ID, Heading, webLinks } from "@lab/shared/ui";

export const LEVELS = [
  { value: "beginner", label: "Beginner" },
  { value: "intermediate", label: "Intermediate" },
  { value: "advanced", label: "Advanced" },
] as const;

/**
 * The search form works as a plain GET form; HTMX sends it as the user types (debounced), replaces
 * only the results and pushes the URL. `hx-sync` drops an answer overtaken by newer typing.
 */
export const SearchForm = ({ q, level }: { q: string; level: string }) => (
  <search>
    <form
      action={webLinks.catalog()}
      method="get"
      class="card flex flex-col gap-3 sm:flex-row sm:items-end"
      hx-get={webLinks.catalog()}
      hx-trigger="input changed delay:300ms, submit"
      hx-target={`#${CATALOG_RESULTS_ID}`}
      hx-push-url="true"
      hx-sync="this:replace"
      hx-indicator="#search-indicator"
    >
      <div class="flex-1">
        <div class="flex items-baseline justify-between gap-2">
          <label class="label" for="q">
            Search courses
          </label>
          <span id="search-indicator" class="htmx-indicator text-xs text-slate-500" aria-hidden="true">
            Searching…
          </span>
        </div>
        <input
          class="input"
          type="search"
          id="q"
          name="q"
          value={q}
          maxlength={100}
          placeholder="Title or description"
          autocomplete="off"
        />
      </div>
      <div>
        <label class="label" for="level">
          Level
        </label>
        <select class="input" id="level" name="level">
          <option value="" selected={level === ""}>
            All levels
          </option>
          {LEVELS.map((l) => (
            <option value={l.value} selected={l.value === level} safe>
              {l.label}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" class="button">
        Search
      </button>
    </form>
  </search>
);

/** `results` is the course service's fragment, whose user text it has already escaped. */
export const CatalogPage = ({ q, level, results }: { q: string; level: string; results: string }) => (
  <>
    <div class="flex flex-col gap-1">
      <Heading text="Find a course" />
      <p class="text-slate-600">Search by title or description, filter by level.</p>
    </div>
    <SearchForm q={q} level={level} />
    <section id={CATALOG_RESULTS_ID} aria-label="Courses" aria-live="polite">
      {results}
    </section>
  </>
);
