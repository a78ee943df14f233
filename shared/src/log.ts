const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

let threshold: number = LEVELS.info;
let service = "lab";

export function configureLog(name: string, level: Level) {
  service = name;
  threshold = LEVELS[level];
}

/** One JSON object per line on stdout, so logs can be grepped and shipped as they are. */
export function log(level: Level, msg: string, fields: Record<string, unknown> = {}) {
  if (LEVELS[level] < threshold) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, service, msg, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
