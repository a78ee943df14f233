export type SeedSizes = { users: number; courses: number; enrollments: number; payments: number };

/** `bun run seed`: enough to browse a few pages of the catalog. */
export const DEMO_SIZES: SeedSizes = { users: 500, courses: 1_000, enrollments: 2_000, payments: 500 };
/** `bun run seed --full`: the roadmap's volume, the one the experiments are measured on. */
export const FULL_SIZES: SeedSizes = { users: 50_000, courses: 100_000, enrollments: 200_000, payments: 50_000 };
export const DEFAULT_SEED = 1;

/** A seed that cannot be done as asked (sizes that do not fit, a database that already holds data). */
export class SeedError extends Error {}

/**
 * How the seeded users split: one teacher in ten, and of the teachers one in ten (at least one) still unverified.
 * Teachers come first, so `teacher1…teacherN` for N up to `verifiedTeachers` are verified.
 */
export function userMix(users: number) {
  const teachers = users < 2 ? 0 : Math.max(1, Math.round(users / 10));
  const unverified = teachers < 2 ? 0 : Math.max(1, Math.round(teachers / 10));
  const verifiedTeachers = teachers - unverified;
  return { teachers, verifiedTeachers, students: users - teachers };
}

export function checkSizes(sizes: SeedSizes) {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new SeedError(`--${name} must be a whole number ≥ 0`);
  }
  const { verifiedTeachers, students } = userMix(sizes.users);
  if (sizes.courses > 0 && verifiedTeachers === 0) {
    throw new SeedError(`${sizes.courses} courses need a verified teacher to own them: raise --users to 2 or more`);
  }
  if (sizes.enrollments > 0 && (students === 0 || sizes.courses === 0)) {
    throw new SeedError("enrollments need students and courses: raise --users and --courses");
  }
  if (sizes.payments > sizes.enrollments) {
    throw new SeedError(
      `--payments ${sizes.payments} is more than --enrollments ${sizes.enrollments}: each payment pays for one enrollment`,
    );
  }
}

/** The command-line flags that choose a dataset, shared by `bun run seed` and `bun run bench:seed`. */
export const DATASET_FLAGS = {
  full: { type: "boolean" },
  users: { type: "string" },
  courses: { type: "string" },
  enrollments: { type: "string" },
  payments: { type: "string" },
  seed: { type: "string" },
} as const;

type DatasetFlagValues = { full?: boolean } & Partial<Record<keyof SeedSizes | "seed", string>>;

const wholeNumber = (flag: string, value: string) => {
  const digits = value.replace(/[_,]/g, "");
  if (!/^\d+$/.test(digits)) throw new SeedError(`--${flag} must be a whole number ≥ 0, got "${value}"`);
  return Number(digits);
};

/** Sizes from the flags: the demo or (--full) the roadmap's, each overridable one by one. */
export function datasetFromFlags(values: DatasetFlagValues): { sizes: SeedSizes; seed: number } {
  const sizes = { ...(values.full ? FULL_SIZES : DEMO_SIZES) };
  for (const key of Object.keys(sizes) as (keyof SeedSizes)[]) {
    const value = values[key];
    if (value !== undefined) sizes[key] = wholeNumber(key, value);
  }
  checkSizes(sizes);
  const seed = values.seed === undefined ? DEFAULT_SEED : wholeNumber("seed", values.seed);
  if (seed > 0xffff_ffff) throw new SeedError("--seed must fit in 32 bits (at most 4294967295)");
  return { sizes, seed };
}
