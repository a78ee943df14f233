import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = (typeof LOG_LEVELS)[number];
/** `json`: one object per line, for files, containers and CI. `pretty`: one readable line, for a terminal. */
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Readable when a person watches stdout, JSON otherwise; LOG_FORMAT overrides it (the launcher sets it). */
const defaultLogFormat = (): LogFormat => (process.stdout.isTTY ? "pretty" : "json");

/** The fields of the access line, which the pretty format prints as its message. */
const REQUEST_FIELDS = ["service", "method", "route", "status", "duration_ms", "request_id"] as const;

type Line = Record<string, unknown>;

/** `12:01:02.345 INFO course GET /courses/:id 200 1.3 ms 7f1c…`; other lines: service, message, then fields as JSON. */
function prettyMessage(line: Line, messageKey: string) {
  if (line[messageKey] === "request") {
    const { service, method, route, status, duration_ms, request_id } = line;
    return `${service} ${method} ${route} ${status} ${duration_ms} ms ${request_id}`;
  }
  return `${line.service} ${line[messageKey]}`;
}

/**
 * pino-pretty runs in-process as a plain stream, not as pino's worker-thread transport: every
 * service would start a thread to print a few lines, and lines written just before
 * `process.exit` could be lost with it.
 */
const prettyStream = () =>
  pretty({
    translateTime: "HH:MM:ss.l",
    ignore: REQUEST_FIELDS.join(","),
    messageFormat: prettyMessage,
    singleLine: true,
    sync: true,
  });

/**
 * The JSON lines of one turn of the event loop go out in one write: under load that is one system
 * call for many requests instead of one each, and an idle process still writes each line at once.
 * What is pending when the process exits is written then.
 */
function batchedStdout(): DestinationStream {
  const fd1 = pino.destination({ dest: 1, sync: true });
  let pending: string[] = [];
  const flush = () => {
    if (!pending.length) return;
    const text = pending.join("");
    pending = [];
    fd1.write(text);
  };
  process.on("exit", flush);
  return {
    write(line: string) {
      if (!pending.length) setImmediate(flush);
      pending.push(line);
    },
    flush,
  } as DestinationStream;
}

let stdout: DestinationStream | undefined;
/** One for the process, however often the log is configured: its exit hook is registered once. */
const jsonStream = () => {
  stdout ??= batchedStdout();
  return stdout;
};

function createLogger(service: string, level: Level, destination: DestinationStream): Logger<never, boolean> {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

let logger = createLogger("lab", "info", jsonStream());

/**
 * Names the process's service and sets the least severe level written. `destination` replaces
 * stdout (tests read the lines from it).
 */
export function configureLog(
  service: string,
  level: Level,
  format: LogFormat = defaultLogFormat(),
  destination?: DestinationStream,
) {
  logger.flush();
  logger = createLogger(service, level, destination ?? (format === "pretty" ? prettyStream() : jsonStream()));
}

/** True when a line of `level` would be written: lets a caller skip building its fields. */
export const logs = (level: Level) => logger.isLevelEnabled(level);

/** One line of `level` with the message and its fields (never a secret: tokens and passwords stay out). */
export function log(level: Level, msg: string, fields: Record<string, unknown> = {}) {
  logger[level](fields, msg);
}
