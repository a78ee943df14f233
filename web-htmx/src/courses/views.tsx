/** @jsxImportSource @kitajs/html */
import { Notice, webLinks } from "@lab/shared/ui";
import { LEVELS } from "../catalog/views";
import { Field, type FieldErrors, FormAlert, Select, TextArea } from "../forms";

/** The course page: the course service's detail fragment, then enrollment count and the Enroll panel. */
export const CoursePage = ({ detail, count, panel }: { detail: string; count: string; panel: JSX.Element }) => (
  <>
    <nav aria-label="Breadcrumb" class="text-sm">
      <a href={webLinks.catalog()}>← Catalog</a>
    </nav>
    <div class="card flex flex-col gap-6">
      {detail}
      <div class="flex flex-col gap-4 border-t border-slate-200 pt-4 sm:flex-row sm:items-center sm:justify-between">
        <p id="enrollment-count" class="text-sm text-slate-600">
          {count}
        </p>
        {panel}
      </div>
    </div>
  </>
);

export type CourseFormValues = {
  title: string;
  description: string;
  level: string;
  price: string;
  duration_hours: string;
};

export const EMPTY_COURSE: CourseFormValues = {
  title: "",
  description: "",
  level: "beginner",
  price: "0",
  duration_hours: "",
};

export const CourseForm = ({
  values,
  errors = {},
  error,
}: {
  values: CourseFormValues;
  errors?: FieldErrors;
  error?: string;
}) => (
  <section class="mx-auto flex w-full max-w-2xl flex-col gap-4">
    <h1 class="text-2xl font-bold">New course</h1>
    <FormAlert message={error} />
    <form method="post" action={webLinks.newCourse()} class="card flex flex-col gap-4" novalidate>
      <Field name="title" label="Title" value={values.title} error={errors.title} maxlength={200} required />
      <TextArea
        name="description"
        label="Description"
        value={values.description}
        error={errors.description}
        hint="What students will learn."
        maxlength={5000}
      />
      <div class="grid gap-4 sm:grid-cols-3">
        <Select name="level" label="Level" value={values.level} error={errors.level} options={LEVELS} />
        <Field
          name="price"
          label="Price (USD)"
          value={values.price}
          error={errors.price}
          hint="0 for a free course."
          inputmode="decimal"
          required
        />
        <Field
          name="duration_hours"
          label="Duration (hours)"
          value={values.duration_hours}
          error={errors.duration_hours}
          inputmode="numeric"
          required
        />
      </div>
      <button type="submit" class="button self-start">
        Publish course
      </button>
    </form>
  </section>
);

/** What an unverified teacher sees instead of the form. */
export const VerificationPending = ({ verifiedSince }: { verifiedSince: boolean }) => (
  <section class="mx-auto flex w-full max-w-2xl flex-col gap-4">
    <h1 class="text-2xl font-bold">New course</h1>
    {verifiedSince ? (
      <Notice>
        An admin has verified your account. <strong>Log out and log in again</strong> to start publishing courses.
      </Notice>
    ) : (
      <div class="pending" role="status" data-testid="verification-pending">
        <strong>Verification pending.</strong> An admin has to verify your teacher account before you can publish
        courses. You will be able to create courses after you log in again once it is verified.
      </div>
    )}
  </section>
);
