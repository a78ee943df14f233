import { conflict, type Db, isUniqueViolation, notFound, type Role, signToken, unauthorized } from "@lab/shared";
import type { RegisterInput, UserRow } from "./model";

const EMAIL_TAKEN = "This email is already registered";

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** A hash of a password nobody has: checked when the email is unknown so both 401s cost the same. */
const decoyHash = Bun.password.hash(crypto.randomUUID());

export class UserService {
  constructor(
    private readonly db: Db,
    private readonly jwt: { secret: string; ttlSeconds: number },
  ) {}

  /**
   * An email already registered is a 409 before any hash: hashing first let anyone burn 170–280 ms
   * of CPU per request with one known email. The 409 itself says the email exists (the contract
   * wants it, and the register form shows it), so answering it sooner leaks nothing that waiting
   * would hide: no decoy time is spent. Enumeration and floods are bounded by the per-client
   * RegistrationThrottle instead. Two registrations of one new email racing still both hash; the
   * unique key turns the second into the same 409.
   */
  async register(input: RegisterInput): Promise<UserRow> {
    const [existing] = await this.db.query<{ id: number }>`
      SELECT id FROM users WHERE email = ${normalizeEmail(input.email)}`;
    if (existing) throw conflict(EMAIL_TAKEN);
    return this.create({ ...input, is_verified: false });
  }

  async create(input: { email: string; password: string; full_name: string; role: Role; is_verified: boolean }) {
    const passwordHash = await Bun.password.hash(input.password);
    try {
      const [user] = await this.db.query<UserRow>`
        INSERT INTO users (email, password_hash, full_name, role, is_verified)
        VALUES (${normalizeEmail(input.email)}, ${passwordHash}, ${input.full_name.trim()}, ${input.role}, ${input.is_verified})
        RETURNING id, email, full_name, role, is_verified`;
      return user as UserRow;
    } catch (error) {
      if (isUniqueViolation(error, "users_email_key")) throw conflict(EMAIL_TAKEN);
      throw error;
    }
  }

  async login(email: string, password: string) {
    const [row] = await this.db.query<UserRow & { password_hash: string }>`
      SELECT id, email, full_name, role, is_verified, password_hash FROM users WHERE email = ${normalizeEmail(email)}`;
    const valid = await Bun.password.verify(password, row?.password_hash ?? (await decoyHash));
    if (!row || !valid) throw unauthorized("Invalid email or password");
    return {
      access_token: await signToken(
        { sub: row.id, role: row.role, is_verified: row.is_verified, name: row.full_name },
        this.jwt.secret,
        this.jwt.ttlSeconds,
      ),
      token_type: "bearer" as const,
      expires_in: this.jwt.ttlSeconds,
    };
  }

  async byId(id: number): Promise<UserRow> {
    const [user] = await this.db
      .query<UserRow>`SELECT id, email, full_name, role, is_verified FROM users WHERE id = ${id}`;
    if (!user) throw notFound("User");
    return user;
  }

  async verify(id: number): Promise<UserRow> {
    const [user] = await this.db.query<UserRow>`
      UPDATE users SET is_verified = true WHERE id = ${id} RETURNING id, email, full_name, role, is_verified`;
    if (!user) throw notFound("User");
    return user;
  }
}
