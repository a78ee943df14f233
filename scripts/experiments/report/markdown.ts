/** The Markdown pieces the run and lab reports share. */

export const ms = (value: number | null) => (value === null ? "–" : `${value}`);

export const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 3 : 2)}%`;
const numeric = (value: string | number) => typeof value === "number" || /^[-–\d.,×% /]+$/.test(value);

/** A Markdown table; numeric columns align right, and cells are escaped so an endpoint name cannot break it. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (value: string | number) => String(value).replaceAll("|", "\\|");
  const right = header.map((_, index) => rows.length > 0 && rows.every((row) => numeric(row[index] ?? "")));
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `|${right.map((isRight) => (isRight ? "---:" : "---")).join("|")}|`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ].join("\n");
}
