/** @jsxImportSource @kitajs/html */
import { webLinks } from "@lab/shared/ui";
import { Field, type FieldErrors, FormAlert } from "../forms";

export type LoginValues = { email: string; next: string };
export type RegisterValues = { email: string; full_name: string; role: string };

export const LoginForm = ({ values, error }: { values: LoginValues; error?: string }) => (
  <section class="mx-auto flex w-full max-w-md flex-col gap-4">
    <h1 class="text-2xl font-bold">Log in</h1>
    <FormAlert message={error} />
    <form method="post" action={webLinks.login()} class="card flex flex-col gap-4">
      <input type="hidden" name="next" value={values.next} />
      <Field name="email" label="Email" type="email" value={values.email} autocomplete="username" required />
      <Field name="password" label="Password" type="password" autocomplete="current-password" required />
      <button type="submit" class="button">
        Log in
      </button>
    </form>
    <p class="text-sm text-slate-600">
      No account yet? <a href={webLinks.register()}>Register</a>
    </p>
  </section>
);

const ROLES = [
  { value: "student", label: "Student", hint: "Find and join courses." },
  { value: "teacher", label: "Teacher", hint: "Publish courses once an admin has verified you." },
] as const;

export const RegisterForm = ({
  values,
  errors = {},
  error,
}: {
  values: RegisterValues;
  errors?: FieldErrors;
  error?: string;
}) => (
  <section class="mx-auto flex w-full max-w-md flex-col gap-4">
    <h1 class="text-2xl font-bold">Create an account</h1>
    <FormAlert message={error} />
    <form method="post" action={webLinks.register()} class="card flex flex-col gap-4" novalidate>
      <Field
        name="full_name"
        label="Full name"
        value={values.full_name}
        error={errors.full_name}
        autocomplete="name"
        maxlength={200}
        required
      />
      <Field
        name="email"
        label="Email"
        type="email"
        value={values.email}
        error={errors.email}
        autocomplete="email"
        required
      />
      <Field
        name="password"
        label="Password"
        type="password"
        error={errors.password}
        hint="At least 8 characters."
        autocomplete="new-password"
        minlength={8}
        required
      />
      <fieldset aria-describedby={errors.role ? "role-error" : undefined}>
        <legend class="label">I am a</legend>
        <div class="grid gap-2 sm:grid-cols-2">
          {ROLES.map((role) => (
            <label class="flex cursor-pointer gap-2 rounded-lg border border-slate-300 bg-white p-3 has-[:checked]:border-indigo-500 has-[:checked]:bg-indigo-50">
              <input
                type="radio"
                name="role"
                value={role.value}
                checked={values.role === role.value}
                class="mt-1"
                required
              />
              <span>
                <span class="block font-medium" safe>
                  {role.label}
                </span>
                <span class="block text-sm text-slate-600" safe>
                  {role.hint}
                </span>
              </span>
            </label>
          ))}
        </div>
        {errors.role && (
          <p class="field-error" id="role-error" safe>
            {errors.role}
          </p>
        )}
      </fieldset>
      <button type="submit" class="button">
        Create account
      </button>
    </form>
    <p class="text-sm text-slate-600">
      Already registered? <a href={webLinks.login()}>Log in</a>
    </p>
  </section>
);
