import {
  type AuthUser,
  conflict,
  type Db,
  dataOf,
  isUniqueViolation,
  type PageInput,
  pageOf,
  paymentRequired,
  type ServiceClient,
} from "@lab/shared";
import type { CourseApp } from "../../../course/src/app";
import type { CourseRow } from "../../../course/src/courses/model";
import type { PaymentApp } from "../../../payment/src/app";
import type { PaymentRow } from "../../../payment/src/payments/model";
import type { CreateEnrollmentInput, EnrollmentRow } from "./model";

const alreadyEnrolled = (courseId: number) => conflict(`You are already enrolled in course ${courseId}`);
const paymentUsed = (paymentId: number) => conflict(`Payment ${paymentId} has already paid for an enrollment`);

export class EnrollmentService {
  constructor(
    private readonly db: Db,
    private readonly services: ServiceClient,
  ) {}

  /**
   * Enrolls a student. Every check that needs another service runs before the single INSERT, so a
   * dependency that is down or slow (503) leaves nothing written; the unique constraints alone
   * decide "already enrolled" and "payment already spent", concurrent requests included, so no
   * SELECT runs in front of them.
   */
  async enroll(input: CreateEnrollmentInput, student: AuthUser, requestId: string): Promise<EnrollmentRow> {
    const course = dataOf(
      "course",
      await this.services.api<CourseApp>("course", { requestId }).courses({ id: input.course_id }).get(),
    );
    const payment =
      course.price_cents > 0 ? await this.verifiedPayment(input.payment_id, course, student, requestId) : null;

    try {
      const [enrollment] = await this.db.query<EnrollmentRow>`
        INSERT INTO enrollments (student_id, course_id, payment_id, price_cents)
        VALUES (${student.id}, ${course.id}, ${payment?.id ?? null}, ${course.price_cents})
        RETURNING id, student_id, course_id, payment_id, price_cents, created_at`;
      return enrollment as EnrollmentRow;
    } catch (error) {
      if (isUniqueViolation(error, "enrollments_student_course_key")) throw alreadyEnrolled(course.id);
      if (payment && isUniqueViolation(error, "enrollments_payment_id_key")) throw paymentUsed(payment.id);
      throw error;
    }
  }

  /**
   * A paid course needs a payment that this student made, completed, for this course and for its
   * current price, not spent on another enrollment. The payment service is asked with the
   * student's own token, so it answers 404 for anyone else's payment.
   */
  private async verifiedPayment(
    paymentId: number | undefined,
    course: CourseRow,
    student: AuthUser,
    requestId: string,
  ): Promise<PaymentRow> {
    if (paymentId === undefined) {
      throw paymentRequired(
        `Course ${course.id} costs ${course.price_cents} cents: pay for it (POST /payments) and enroll with its payment_id`,
      );
    }
    const notYours = paymentRequired(`Payment ${paymentId} is not one of your payments`);
    const answer = await this.services
      .api<PaymentApp>("payment", { token: student.token, requestId })
      .payments({ id: paymentId })
      .get();
    if (answer.status === 404) throw notYours;
    const payment = dataOf("payment", answer);
    if (payment.student_id !== student.id) throw notYours;
    if (payment.status !== "completed") {
      throw paymentRequired(`Payment ${paymentId} is ${payment.status}, not completed`);
    }
    if (payment.course_id !== course.id) {
      throw paymentRequired(`Payment ${paymentId} paid for course ${payment.course_id}, not course ${course.id}`);
    }
    if (payment.amount_cents !== course.price_cents) {
      throw paymentRequired(
        `Payment ${paymentId} is ${payment.amount_cents} cents, but course ${course.id} costs ${course.price_cents} cents`,
      );
    }
    return payment;
  }

  /** The student's enrollments, newest first, with the course titles fetched in one batch call. */
  async mine(student: AuthUser, page: PageInput, requestId: string) {
    const rows = await this.db.query<EnrollmentRow>`
      SELECT id, student_id, course_id, payment_id, price_cents, created_at
      FROM enrollments WHERE student_id = ${student.id}
      ORDER BY created_at DESC, id DESC
      LIMIT ${page.limit + 1} OFFSET ${page.offset}`;
    const enrollments = pageOf(rows, page);
    if (enrollments.items.length === 0) return { ...enrollments, items: [] };
    const ids = [...new Set(enrollments.items.map((e) => e.course_id))];
    const { items: courses } = dataOf(
      "course",
      await this.services.api<CourseApp>("course", { requestId }).courses.batch.get({ query: { ids: ids.join(",") } }),
    );
    const titles = new Map(courses.map((c) => [c.id, c.title]));
    return {
      ...enrollments,
      items: enrollments.items.map((e) => ({ ...e, course_title: titles.get(e.course_id) ?? null })),
    };
  }

  /** One indexed lookup, however many courses the student holds. */
  async isEnrolled(student: AuthUser, courseId: number) {
    const [row] = await this.db.query`
      SELECT 1 FROM enrollments WHERE student_id = ${student.id} AND course_id = ${courseId}`;
    return { course_id: courseId, enrolled: row !== undefined };
  }

  async count(courseId: number) {
    const [row] = await this.db.query<{ count: number }>`
      SELECT count(*)::int AS count FROM enrollments WHERE course_id = ${courseId}`;
    return { course_id: courseId, count: row?.count ?? 0 };
  }
}
