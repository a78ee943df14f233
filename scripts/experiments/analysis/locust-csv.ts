import { parse } from "csv-parse/sync";
import type { ExceptionRow, FailureRow } from "../results/format";

/** Locust's name for the row that sums every endpoint. */
export const AGGREGATED = "Aggregated";

export type StatsRow = {
  method: string;
  name: string;
  requests: number;
  failures: number;
  rps: number;
  failuresPerSecond: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  /** Mean bytes of a response body ("Average Content Size"). */
  avgBytes: number;
  /** Percentiles in ms keyed by Locust's column name ("50%", "95%", "99%"…); null when there were no requests. */
  percentiles: Record<string, number | null>;
};

export type HistoryRow = {
  timestamp: number;
  users: number;
  method: string;
  name: string;
  rps: number;
  failuresPerSecond: number;
  /** With --csv-full-history these are over Locust's sliding 10-second window, not the whole run. */
  percentiles: Record<string, number | null>;
  totalRequests: number;
  totalFailures: number;
};

type Record_ = Record<string, string>;

const readCsv = async (path: string): Promise<Record_[]> =>
  parse(await Bun.file(path).text(), { columns: true, skip_empty_lines: true, relax_column_count: true });

const num = (value: string | undefined) => {
  if (value === undefined || value === "" || value === "N/A") return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
};
const required = (row: Record_, column: string) => {
  const value = num(row[column]);
  if (value === null)
    throw new Error(`Locust CSV: column "${column}" is missing or not a number in ${JSON.stringify(row)}`);
  return value;
};
const percentileColumns = (row: Record_) => Object.keys(row).filter((column) => /^\d+(\.\d+)?%$/.test(column));
const percentilesOf = (row: Record_) =>
  Object.fromEntries(percentileColumns(row).map((column) => [column, num(row[column])]));

export async function readStats(path: string): Promise<StatsRow[]> {
  return (await readCsv(path)).map((row) => ({
    method: row.Type ?? "",
    name: row.Name ?? "",
    requests: required(row, "Request Count"),
    failures: required(row, "Failure Count"),
    rps: required(row, "Requests/s"),
    failuresPerSecond: required(row, "Failures/s"),
    avgMs: num(row["Average Response Time"]) ?? 0,
    minMs: num(row["Min Response Time"]) ?? 0,
    maxMs: num(row["Max Response Time"]) ?? 0,
    avgBytes: num(row["Average Content Size"]) ?? 0,
    percentiles: percentilesOf(row),
  }));
}

export async function readHistory(path: string): Promise<HistoryRow[]> {
  return (await readCsv(path)).map((row) => ({
    timestamp: required(row, "Timestamp"),
    users: required(row, "User Count"),
    method: row.Type ?? "",
    name: row.Name ?? "",
    rps: required(row, "Requests/s"),
    failuresPerSecond: required(row, "Failures/s"),
    percentiles: percentilesOf(row),
    totalRequests: required(row, "Total Request Count"),
    totalFailures: required(row, "Total Failure Count"),
  }));
}

export async function readFailures(path: string): Promise<FailureRow[]> {
  if (!(await Bun.file(path).exists())) return [];
  return (await readCsv(path)).map((row) => ({
    method: row.Method ?? "",
    name: row.Name ?? "",
    error: row.Error ?? "",
    occurrences: required(row, "Occurrences"),
  }));
}

export async function readExceptions(path: string): Promise<ExceptionRow[]> {
  if (!(await Bun.file(path).exists())) return [];
  return (await readCsv(path)).map((row) => ({
    count: required(row, "Count"),
    message: row.Message ?? "",
    traceback: row.Traceback ?? "",
  }));
}
