import { HttpError, log, tooManyRequests } from "@lab/shared";

type Window = { count: number; resetAt: number };

/** Past this many remembered keys, expired ones are swept before a new key is added. */
const SWEEP_ABOVE_KEYS = 10_000;

/**
 * Failed attempts per key in a fixed window that starts with the key's first failure and ends
 * `windowMs` later, whatever happens in between: a key is never blocked for longer than that.
 */
export class AttemptWindow {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  blockedFor(key: string): number {
    const window = this.current(key);
    return window && window.count >= this.limit ? window.resetAt - this.now() : 0;
  }

  count(key: string) {
    const window = this.current(key);
    if (window) {
      window.count++;
      return;
    }
    if (this.windows.size >= SWEEP_ABOVE_KEYS) this.sweep();
    this.windows.set(key, { count: 1, resetAt: this.now() + this.windowMs });
  }

  forget(key: string) {
    this.windows.delete(key);
  }

  private current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.resetAt <= this.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private sweep() {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}

export type LoginThrottleOptions = { perAccount: number; perClient: number; windowSeconds: number };

/**
 * Slows down password guessing: after `perAccount` failed logins for one email, or `perClient`
 * from one client address, within the window, every further attempt is a 429 with Retry-After
 * until the window that started with the first failure ends. The password is not even checked
 * then, so a correct guess in a blocked window teaches nothing. Only a refused password counts:
 * a success clears the account's count, and a 503 counts against nobody, so many users behind
 * one address (a load test, an office) are only slowed down by their own failures.
 *
 * Attempts for one email run one after another (each waits for the previous one's verdict), so
 * parallel guesses cannot slip past the account's limit while the slow password hash runs. Parallel
 * guesses at different emails from one client can pass its limit by the number in flight at once.
 *
 * The counts live in this process's memory: with WORKERS=N each worker counts on its own, so a
 * client can get up to N times the limit; a restart forgets them.
 */
export class LoginThrottle {
  private readonly accounts: AttemptWindow;
  private readonly clients: AttemptWindow;
  /** The last attempt queued per email; an email is absent when no attempt for it is running. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(options: LoginThrottleOptions, now: () => number = Date.now) {
    const windowMs = options.windowSeconds * 1000;
    this.accounts = new AttemptWindow(options.perAccount, windowMs, now);
    this.clients = new AttemptWindow(options.perClient, windowMs, now);
  }

  /** Runs `login` unless the account or the client is blocked; counts a refused password. */
  async attempt<T>(email: string, client: string, login: () => Promise<T>): Promise<T> {
    // a blocked caller is answered at once, without waiting in the email's queue
    this.refuseIfBlocked(email, client);
    const previous = this.queues.get(email) ?? Promise.resolve();
    const turn = previous.then(() => this.run(email, client, login));
    const settled = turn.catch(() => undefined);
    this.queues.set(email, settled);
    void settled.then(() => {
      if (this.queues.get(email) === settled) this.queues.delete(email);
    });
    return turn;
  }

  private async run<T>(email: string, client: string, login: () => Promise<T>): Promise<T> {
    this.refuseIfBlocked(email, client);
    try {
      const result = await login();
      this.accounts.forget(email);
      return result;
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        this.accounts.count(email);
        this.clients.count(client);
      }
      throw error;
    }
  }

  private refuseIfBlocked(email: string, client: string) {
    const waitMs = Math.max(this.accounts.blockedFor(email), this.clients.blockedFor(client));
    if (waitMs <= 0) return;
    const seconds = Math.ceil(waitMs / 1000);
    log("info", "login throttled", { client, retry_after: seconds });
    throw tooManyRequests(`Too many failed logins; try again in ${seconds} s`, seconds);
  }
}

/**
 * The address a request came from: the socket's peer, or, when the service sits behind a proxy the
 * operator trusts (TRUST_PROXY=1), the last X-Forwarded-For entry (the one that proxy appended;
 * entries before it are whatever the client claimed).
 */
export function clientAddress(
  request: Request,
  server: { requestIP(request: Request): { address: string } | null } | null,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  return server?.requestIP(request)?.address ?? "in-process";
}
