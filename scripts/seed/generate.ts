import type { ServiceName } from "@lab/shared";
import { DEMO_ACCOUNTS } from "./accounts";
import { Random } from "./random";
import { checkSizes, SeedError, type SeedSizes, userMix } from "./sizes";
import {
  AUDIENCES,
  FIRST_NAMES,
  FORMATS,
  LAST_NAMES,
  LEVEL_WORDS,
  LEVELS,
  type Level,
  OPENINGS,
  OUTCOMES,
  RARE_SENTENCES,
  RARE_WORDS,
  TITLE_TEMPLATES,
  TOPICS,
} from "./vocabulary";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Seeded time ends here, not at "now", so the same seed gives the same timestamps on any day. */
const SEED_EPOCH = Date.UTC(2026, 10, 1);
const USERS_FROM = SEED_EPOCH - 1095 * DAY;
const USERS_UNTIL = SEED_EPOCH - 30 * DAY;
const COURSES_FROM = SEED_EPOCH - 730 * DAY;
const COURSES_UNTIL = SEED_EPOCH - 2 * HOUR;

/** Share of courses that are free, and price points of the others (cents). */
const FREE_SHARE = 1 / 3;
const PRICES = [999, 1499, 1999, 2499, 2999, 3499, 4999, 6999, 8999, 9999, 12999, 14999, 19999];
const LEVEL_WEIGHTS: Record<Level, number> = { beginner: 0.45, intermediate: 0.35, advanced: 0.2 };
const HOURS: Record<Level, [number, number]> = { beginner: [1, 20], intermediate: [4, 40], advanced: [8, 80] };
/** Share of courses whose description carries one rare word, on top of one guaranteed course per word. */
const RARE_SHARE = 0.01;
/** Course popularity: the n-th most popular course of a pool is drawn with density ∝ n^(1/POWER − 1). */
const POPULARITY_POWER = 2;

/**
 * The numbers of a dataset: who exists, which course belongs to whom, costs what, and who enrolled
 * where. Text (names aside) is made while the rows are written, from streams of its own.
 */
export type Dataset = {
  seed: number;
  sizes: SeedSizes;
  teachers: number;
  verifiedTeachers: number;
  students: number;
  /** Indexed by user id (index 0 unused); demo accounts included. */
  names: string[];
  userCreated: Float64Array;
  /** Indexed by course id − 1. */
  courseTeacher: Int32Array;
  coursePrice: Int32Array;
  courseLevel: Uint8Array;
  courseHours: Int32Array;
  courseCreated: Float64Array;
  /** Indexed by enrollment id − 1, in time order; payment 0 means a free course. */
  enrollmentStudent: Int32Array;
  enrollmentCourse: Int32Array;
  enrollmentCreated: Float64Array;
  enrollmentPayment: Int32Array;
  /** Indexed by payment id − 1: the enrollment (index) it paid for. */
  paymentEnrollment: Int32Array;
};

const FIRST_SEEDED_USER_ID = DEMO_ACCOUNTS.length + 1;
const teacherId = (i: number) => FIRST_SEEDED_USER_ID + i - 1;
const studentId = (dataset: Pick<Dataset, "teachers">, j: number) => FIRST_SEEDED_USER_ID + dataset.teachers + j - 1;

/** The same seed and sizes give the same dataset. */
export function generateDataset(seed: number, sizes: SeedSizes): Dataset {
  checkSizes(sizes);
  const { teachers, verifiedTeachers, students } = userMix(sizes.users);
  const dataset = {
    seed,
    sizes,
    teachers,
    verifiedTeachers,
    students,
    ...people(seed, sizes.users),
    ...courses(seed, sizes.courses, verifiedTeachers),
  };
  return { ...dataset, ...enrollments(seed, sizes, dataset) };
}

function people(seed: number, users: number) {
  const random = new Random(seed, "users");
  const total = DEMO_ACCOUNTS.length + users;
  const names = [""];
  const userCreated = new Float64Array(total + 1);
  for (const account of DEMO_ACCOUNTS) {
    names.push(account.full_name);
    userCreated[account.id] = USERS_FROM - DAY;
  }
  for (let k = 0; k < users; k++) {
    names.push(`${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`);
    userCreated[FIRST_SEEDED_USER_ID + k] = Math.round(
      USERS_FROM + ((k + random.float()) / users) * (USERS_UNTIL - USERS_FROM),
    );
  }
  return { names, userCreated };
}

function courses(seed: number, count: number, verifiedTeachers: number) {
  const random = new Random(seed, "courses");
  const courseTeacher = new Int32Array(count);
  const coursePrice = new Int32Array(count);
  const courseLevel = new Uint8Array(count);
  const courseHours = new Int32Array(count);
  const courseCreated = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    const levelDraw = random.float();
    const level = levelDraw < LEVEL_WEIGHTS.beginner ? 0 : levelDraw < 1 - LEVEL_WEIGHTS.advanced ? 1 : 2;
    const [minHours, maxHours] = HOURS[LEVELS[level] as Level];
    courseTeacher[c] = teacherId(random.int(1, verifiedTeachers));
    coursePrice[c] = random.chance(FREE_SHARE) ? 0 : random.pick(PRICES);
    courseLevel[c] = level;
    courseHours[c] = random.int(minHours, maxHours);
    courseCreated[c] = Math.round(COURSES_FROM + ((c + random.float()) / count) * (COURSES_UNTIL - COURSES_FROM));
  }
  return { courseTeacher, coursePrice, courseLevel, courseHours, courseCreated };
}

/**
 * Unique student–course pairs: `payments` of them in paid courses (each with its payment), the rest
 * in free ones. Popular courses draw more students; ids follow time, as they would in a live system.
 */
function enrollments(
  seed: number,
  sizes: SeedSizes,
  dataset: Pick<Dataset, "students" | "teachers" | "userCreated" | "coursePrice" | "courseCreated">,
) {
  const random = new Random(seed, "enrollments");
  const { students } = dataset;
  const free: number[] = [];
  const paid: number[] = [];
  for (let c = 0; c < sizes.courses; c++) (dataset.coursePrice[c] === 0 ? free : paid).push(c);
  const paidCount = sizes.payments;
  const freeCount = sizes.enrollments - sizes.payments;
  if (paidCount > paid.length * students || freeCount > free.length * students) {
    throw new SeedError(
      `${paidCount} paid and ${freeCount} free enrollments do not fit ${students} students in ${paid.length} paid and ` +
        `${free.length} free courses without enrolling someone twice: raise --users or --courses`,
    );
  }
  random.shuffle(free);
  random.shuffle(paid);

  const total = sizes.enrollments;
  const student = new Int32Array(total);
  const course = new Int32Array(total);
  const created = new Float64Array(total);
  const isPaid = new Uint8Array(total);
  const taken = new Set<number>();
  const enrolled = new Int32Array(sizes.courses);
  let n = 0;
  const enroll = (pool: number[], count: number, paidPool: boolean) => {
    for (let i = 0; i < count; i++, n++) {
      let c: number;
      do c = pool[random.skewedIndex(pool.length, POPULARITY_POWER)] as number;
      while ((enrolled[c] as number) >= students);
      let s = random.int(0, students - 1);
      while (taken.has(c * students + s)) s = (s + 1) % students;
      taken.add(c * students + s);
      enrolled[c] = (enrolled[c] as number) + 1;
      const id = studentId(dataset, s + 1);
      const from = Math.max(dataset.userCreated[id] as number, dataset.courseCreated[c] as number) + HOUR;
      student[n] = id;
      course[n] = c + 1;
      created[n] = Math.round(from + random.float() * (SEED_EPOCH - from));
      isPaid[n] = paidPool ? 1 : 0;
    }
  };
  enroll(free, freeCount, false);
  enroll(paid, paidCount, true);

  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => (created[a] as number) - (created[b] as number) || a - b);
  const enrollmentStudent = new Int32Array(total);
  const enrollmentCourse = new Int32Array(total);
  const enrollmentCreated = new Float64Array(total);
  const enrollmentPayment = new Int32Array(total);
  const paymentEnrollment = new Int32Array(paidCount);
  let payments = 0;
  for (let e = 0; e < total; e++) {
    const from = order[e] as number;
    enrollmentStudent[e] = student[from] as number;
    enrollmentCourse[e] = course[from] as number;
    enrollmentCreated[e] = created[from] as number;
    if (isPaid[from]) {
      paymentEnrollment[payments] = e;
      enrollmentPayment[e] = ++payments;
    }
  }
  return { enrollmentStudent, enrollmentCourse, enrollmentCreated, enrollmentPayment, paymentEnrollment };
}

/** A slice of CSV rows for COPY, and how many rows it holds. */
export type Chunk = { text: string; rows: number };

/** One table's share of a seed: where it goes, its columns in CSV order, and its rows. */
export type TableLoad = {
  service: ServiceName;
  table: string;
  columns: readonly string[];
  rows: number;
  /** Settles when the rows can be made (the users wait for the password hash). */
  ready?: Promise<unknown>;
  chunks: () => Iterable<Chunk>;
};

const CHUNK_BYTES = 256 * 1024;
const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
const iso = (ms: number) => new Date(ms).toISOString();

function* chunked(count: number, row: (index: number) => string): Generator<Chunk> {
  let text = "";
  let rows = 0;
  for (let i = 0; i < count; i++) {
    text += row(i);
    rows++;
    if (text.length >= CHUNK_BYTES) {
      yield { text, rows };
      text = "";
      rows = 0;
    }
  }
  if (rows > 0) yield { text, rows };
}

/**
 * The tables a dataset fills, each as a stream of CSV chunks (made anew, identically, on every call).
 * Only the users wait for the password hash, so the other tables need not.
 */
export function tableLoads(dataset: Dataset, passwordHash: Promise<string>): TableLoad[] {
  let hash = "";
  const hashed = passwordHash.then((value) => {
    hash = quote(value);
  });
  const userCount = DEMO_ACCOUNTS.length + dataset.sizes.users;
  const firstStudent = studentId(dataset, 1);
  return [
    {
      service: "identity",
      table: "users",
      columns: ["id", "email", "password_hash", "full_name", "role", "is_verified", "created_at"],
      rows: userCount,
      ready: hashed,
      chunks: () =>
        chunked(userCount, (index) => {
          const id = index + 1;
          const created = iso(dataset.userCreated[id] as number);
          const name = quote(dataset.names[id] as string);
          const demo = DEMO_ACCOUNTS[index];
          if (demo) return `${id},${demo.email},${hash},${name},${demo.role},${demo.is_verified},${created}\n`;
          if (id < firstStudent) {
            const i = id - FIRST_SEEDED_USER_ID + 1;
            return `${id},teacher${i}@lab.test,${hash},${name},teacher,${i <= dataset.verifiedTeachers},${created}\n`;
          }
          return `${id},student${id - firstStudent + 1}@lab.test,${hash},${name},student,false,${created}\n`;
        }),
    },
    {
      service: "course",
      table: "courses",
      columns: [
        "id",
        "title",
        "description",
        "level",
        "price_cents",
        "duration_hours",
        "teacher_id",
        "teacher_name",
        "created_at",
      ],
      rows: dataset.sizes.courses,
      chunks: () => {
        const text = courseText(dataset);
        return chunked(dataset.sizes.courses, (c) => {
          const teacher = dataset.courseTeacher[c] as number;
          const { title, description } = text(c);
          return `${c + 1},${quote(title)},${quote(description)},${LEVELS[dataset.courseLevel[c] as number]},${dataset.coursePrice[c]},${dataset.courseHours[c]},${teacher},${quote(dataset.names[teacher] as string)},${iso(dataset.courseCreated[c] as number)}\n`;
        });
      },
    },
    {
      service: "enrollment",
      table: "enrollments",
      columns: ["id", "student_id", "course_id", "payment_id", "price_cents", "created_at"],
      rows: dataset.sizes.enrollments,
      chunks: () =>
        chunked(dataset.sizes.enrollments, (e) => {
          const payment = dataset.enrollmentPayment[e] as number;
          const price = dataset.coursePrice[(dataset.enrollmentCourse[e] as number) - 1] as number;
          return `${e + 1},${dataset.enrollmentStudent[e]},${dataset.enrollmentCourse[e]},${payment || ""},${payment ? price : 0},${iso(dataset.enrollmentCreated[e] as number)}\n`;
        }),
    },
    {
      service: "payment",
      table: "payments",
      columns: ["id", "student_id", "course_id", "amount_cents", "currency", "status", "processor_ref", "created_at"],
      rows: dataset.sizes.payments,
      chunks: () => {
        const random = new Random(dataset.seed, "payments");
        return chunked(dataset.sizes.payments, (p) => {
          const e = dataset.paymentEnrollment[p] as number;
          const course = dataset.enrollmentCourse[e] as number;
          const created = (dataset.enrollmentCreated[e] as number) - random.int(5, 120) * 1000;
          const ref = `mock_ch_${random.hex8()}${random.hex8()}${random.hex8()}${random.hex8()}`;
          return `${p + 1},${dataset.enrollmentStudent[e]},${course},${dataset.coursePrice[course - 1]},USD,completed,${ref},${iso(created)}\n`;
        });
      },
    },
  ];
}

const fill = (template: string, values: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? "");
const titleCase = (text: string) =>
  text.replace(/(^|\s)([a-z])/g, (_, space: string, letter: string) => space + letter.toUpperCase());

/** Titles and descriptions, drawn in course order from their own stream. */
function courseText(dataset: Dataset) {
  const random = new Random(dataset.seed, "course-text");
  const courses = dataset.sizes.courses;
  // one course per rare word, spread over the catalog, so every rare word finds something
  const stride = courses >= RARE_WORDS.length ? Math.floor(courses / RARE_WORDS.length) : 0;
  return (c: number) => {
    const level = LEVELS[dataset.courseLevel[c] as number] as Level;
    const topic = random.pick(TOPICS);
    const [s1, s2, s3] = threeSubjects(random, topic.subjects);
    const values = {
      topic: topic.name,
      subject: titleCase(s1),
      level: LEVEL_WORDS[level],
      s1,
      s2,
      s3,
      hours: String(dataset.courseHours[c]),
    };
    const sentences = [
      fill(random.pick(OPENINGS), values),
      fill(random.pick(OUTCOMES), values),
      `Ideal for ${random.pick(AUDIENCES)}.`,
      fill(random.pick(FORMATS), values),
    ];
    const guaranteed = stride > 0 && c % stride === 0 && c / stride < RARE_WORDS.length;
    if (guaranteed || random.chance(RARE_SHARE)) {
      const rare = guaranteed ? (RARE_WORDS[c / stride] as string) : random.pick(RARE_WORDS);
      sentences.push(fill(random.pick(RARE_SENTENCES), { rare }));
    }
    return { title: fill(random.pick(TITLE_TEMPLATES[level]), values), description: sentences.join(" ") };
  };
}

/** Three different subjects of a topic (every topic has at least four). */
function threeSubjects(random: Random, subjects: readonly string[]): [string, string, string] {
  const rest = [...subjects];
  const take = () => rest.splice(random.int(0, rest.length - 1), 1)[0] as string;
  return [take(), take(), take()];
}
