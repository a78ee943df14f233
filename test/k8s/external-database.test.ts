import { expect, setDefaultTimeout } from "bun:test";
import { serviceConfig } from "@lab/shared";
import { environmentAfterEntrypoint } from "../compose/compose";
import { needs } from "../tools";
import { containerEnv, render, workloads } from "./kustomize";

const { test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

const EXAMPLE = "examples/external-database";
const EXTERNAL = {
  DIRECT_DATABASE_URL: "postgres://course:pw@course.db.example.internal:5432/course",
  PGBOUNCER_DATABASE_URL: "postgres://course:pw@course-pooler.db.example.internal:5432/course",
};

test("course loses its in-cluster database and reads both URLs from the Secret course-database", async () => {
  const objects = await render(EXAMPLE);
  expect(objects.filter((object) => object.metadata.name === "course-db")).toEqual([]);
  expect(workloads(objects).filter((workload) => workload.object.kind === "StatefulSet").length).toBe(4);
  const course = workloads(objects).find((workload) => workload.name === "course")!.spec.containers[0]!;
  const env = Object.fromEntries((course.env ?? []).map((variable) => [variable.name, variable]));
  for (const name of Object.keys(EXTERNAL)) {
    expect(env[name]?.value, name).toBeUndefined();
    expect(env[name]?.valueFrom?.secretKeyRef, name).toEqual({ name: "course-database", key: name });
  }
  expect(env.POSTGRES_PASSWORD).toBeUndefined();
});

test("started as the image starts it, course connects where the Secret says, through the pooler from 03-pool on", async () => {
  const objects = await render(EXAMPLE);
  const course = workloads(objects).find((workload) => workload.name === "course")!.spec.containers[0]!;
  const env = containerEnv(objects, course, { ...EXTERNAL, JWT_SECRET: "x".repeat(40) });
  const started = await environmentAfterEntrypoint(env);
  const config = serviceConfig("course", started);
  expect(config.DB_VIA_PGBOUNCER).toBe("1");
  expect(config.DATABASE_URL).toBe(EXTERNAL.PGBOUNCER_DATABASE_URL);
  expect(config.DIRECT_DATABASE_URL).toBe(EXTERNAL.DIRECT_DATABASE_URL);
});
