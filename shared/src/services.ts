/** The services' table: one place for names, ports and databases (docs/architecture/01-overview.md describes them). */
export const SERVICES = {
  identity: { port: 8001, database: "identity" },
  course: { port: 8002, database: "course" },
  enrollment: { port: 8003, database: "enrollment" },
  payment: { port: 8004, database: "payment" },
  notification: { port: 8005, database: "notification" },
} as const;

export type ServiceName = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

export const WEB_PORT = 3000;

/** Environment variable holding a service's base URL for its callers, e.g. COURSE_URL. */
export const serviceUrlVar = (name: ServiceName) => `${name.toUpperCase()}_URL` as const;
/** Environment variable the launcher reads for a service's database, e.g. COURSE_DATABASE_URL. */
export const databaseUrlVar = (name: ServiceName) => `${name.toUpperCase()}_DATABASE_URL` as const;
