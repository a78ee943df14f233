/** @jsxImportSource @kitajs/html */
import type { HttpError } from "@lab/shared";
import { Alert } from "@lab/shared/ui";

/** Error text per form field, shown next to the field. */
export type FieldErrors = Record<string, string>;

/**
 * The services name the invalid field (`fields: [{field, message}]` of a 422); people get the
 * field's own hint instead of a schema message where the form has one.
 */
export function fieldErrors(refusal: HttpError, hints: Record<string, string>): FieldErrors {
  const errors: FieldErrors = {};
  const fields: { field?: string; message?: string }[] = Array.isArray(refusal.details) ? refusal.details : [];
  for (const { field, message } of fields) {
    const name = field?.split(".")[0];
    if (name && !errors[name]) errors[name] = hints[name] ?? message ?? "This value is not valid.";
  }
  return errors;
}

type FieldProps = {
  name: string;
  label: string;
  value?: string;
  error?: string;
  hint?: string;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  minlength?: number;
  maxlength?: number;
  min?: string;
  step?: string;
  inputmode?: "numeric" | "decimal" | "email" | "text";
};

const describedBy = (name: string, error?: string, hint?: string) =>
  [error && `${name}-error`, hint && `${name}-hint`].filter(Boolean).join(" ") || undefined;

export const FieldMessages = ({ name, error, hint }: { name: string; error?: string; hint?: string }) => (
  <>
    {hint && (
      <p class="hint" id={`${name}-hint`} safe>
        {hint}
      </p>
    )}
    {error && (
      <p class="field-error" id={`${name}-error`} safe>
        {error}
      </p>
    )}
  </>
);

/** A labelled input that keeps the typed value and shows its error beside it. */
export const Field = ({ name, label, value, error, hint, type = "text", ...rest }: FieldProps) => (
  <div>
    <label class="label" for={name} safe>
      {label}
    </label>
    <input
      class="input"
      id={name}
      name={name}
      type={type}
      value={type === "password" ? undefined : value}
      aria-invalid={error ? "true" : undefined}
      aria-describedby={describedBy(name, error, hint)}
      {...rest}
    />
    <FieldMessages name={name} error={error} hint={hint} />
  </div>
);

export const TextArea = ({ name, label, value, error, hint, maxlength }: FieldProps) => (
  <div>
    <label class="label" for={name} safe>
      {label}
    </label>
    <textarea
      class="input min-h-32"
      id={name}
      name={name}
      maxlength={maxlength}
      aria-invalid={error ? "true" : undefined}
      aria-describedby={describedBy(name, error, hint)}
      safe
    >
      {value ?? ""}
    </textarea>
    <FieldMessages name={name} error={error} hint={hint} />
  </div>
);

export const Select = ({
  name,
  label,
  value,
  error,
  options,
}: {
  name: string;
  label: string;
  value?: string;
  error?: string;
  options: readonly { value: string; label: string }[];
}) => (
  <div>
    <label class="label" for={name} safe>
      {label}
    </label>
    <select
      class="input"
      id={name}
      name={name}
      aria-invalid={error ? "true" : undefined}
      aria-describedby={describedBy(name, error)}
    >
      {options.map((option) => (
        <option value={option.value} selected={option.value === value} safe>
          {option.label}
        </option>
      ))}
    </select>
    <FieldMessages name={name} error={error} />
  </div>
);

/** A message about the whole form (e.g. wrong password), announced to screen readers. */
export const FormAlert = ({ message }: { message?: string }) => (message ? <Alert text={message} /> : "");

/** Form values as strings, trimmed except passwords; missing fields are empty. */
export function formValues<K extends string>(body: unknown, names: readonly K[]): Record<K, string> {
  const source = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const values = {} as Record<K, string>;
  for (const name of names) {
    const value = source[name];
    const text = typeof value === "string" ? value : "";
    values[name] = name.includes("password") ? text : text.trim();
  }
  return values;
}
