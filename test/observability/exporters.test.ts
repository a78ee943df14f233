import { expect, test } from "bun:test";
import { postgresDataSources } from "../../scripts/lib/exporters";
import { servePgBouncerMetrics } from "../../scripts/lib/pgbouncer-exporter";
import { freePort } from "../../scripts/lib/postgres";

test("postgres_exporter reads the embedded server once, through its own database, without TLS", () => {
  const url = (database: string) => `postgres://postgres:postgres@127.0.0.1:5432/${database}`;
  const sources = postgresDataSources({
    embedded: true,
    databaseUrls: { identity: url("identity"), course: url("course") } as never,
  });
  expect(sources).toBe("postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable");
});

test("external servers: each once, with the service's own database and TLS settings left as given", () => {
  const sources = postgresDataSources({
    embedded: false,
    databaseUrls: {
      identity: "postgres://lab:secret@db1.internal:5432/identity?sslmode=require",
      course: "postgres://lab:secret@db2.internal:5432/course",
      enrollment: "postgres://lab:secret@db2.internal:5432/enrollment",
    } as never,
  }).split(",");
  expect(sources).toEqual([
    "postgres://lab:secret@db1.internal:5432/identity?sslmode=require",
    "postgres://lab:secret@db2.internal:5432/enrollment",
  ]);
});

test("a PgBouncer that is not there is a scrape answering pgbouncer_up 0, not a failed scrape", async () => {
  const exporter = servePgBouncerMetrics(`postgres://postgres:postgres@127.0.0.1:${freePort()}/pgbouncer`, freePort());
  try {
    const response = await fetch(`http://127.0.0.1:${exporter.port}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain("pgbouncer_up 0");
    expect(text).not.toContain("pgbouncer_pools_");
  } finally {
    await exporter.stop();
  }
});
