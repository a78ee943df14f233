import { isIP } from "node:net";
import { HttpError, log, tooManyRequests } from "@lab/shared";
import type { RedisLink } from "@lab/shared/redis";

type Window = { count: number; resetAt: number };

/** Past this many remembered keys, expired ones are swept before a new key is added. */
const SWEEP_ABOVE_KEYS = 10_000;

/** A key's failures in its current window, and the milliseconds until that window ends. */
export type AttemptState = { count: number; resetInMs: number };
const NONE: AttemptState = { count: 0, resetInMs: 0 };

/**
 * Attempts per key in a fixed window that starts with the key's first attempt and ends `windowMs`
 * later, whatever happens in between: a key is never blocked for longer than that.
 */
export class AttemptWindow {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  state(key: string): AttemptState {
    const window = this.current(key);
    return window ? { count: window.count, resetInMs: window.resetAt - this.now() } : NONE;
  }

  /** Counts one more attempt; the count now. */
  count(key: string): number {
    const window = this.current(key);
    if (window) return ++window.count;
    if (this.windows.size >= SWEEP_ABOVE_KEYS) this.sweep();
    this.windows.set(key, { count: 1, resetAt: this.now() + this.windowMs });
    return 1;
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

/** What the throttles count attempts in: this process's memory, or Redis shared by every replica. */
export interface Attempts {
  state(key: string): Promise<AttemptState>;
  /** Counts one more attempt; the count now. */
  count(key: string): Promise<number>;
  forget(key: string): Promise<void>;
}

/** This process's own count, for a single process or while Redis is down. */
class LocalAttempts implements Attempts {
  constructor(private readonly window: AttemptWindow) {}
  async state(key: string) {
    return this.window.state(key);
  }
  async count(key: string) {
    return this.window.count(key);
  }
  async forget(key: string) {
    this.window.forget(key);
  }
}

/**
 * The same fixed window in Redis, one key per email or client address: the first attempt creates
 * the key with the window as its expiry and later ones increment it, in one script, so replicas
 * counting at once never lose an increment or leave a key without expiry. One key per script keeps
 * it valid on Redis Cluster.
 */
const COUNT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;
const STATE_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if count == 0 or ttl < 0 then return {0, 0} end
return {count, ttl}`;

type AttemptCommands = {
  attemptCount(key: string, windowMs: number): Promise<number>;
  attemptState(key: string): Promise<[number, number]>;
};

/**
 * Counts in Redis while it answers; while it is down (or slow past the link's command timeout)
 * each process counts in its own memory instead, so a login never waits for Redis and never fails
 * because of it. Counts made in memory during an outage stay there: Redis does not learn them.
 */
export class SharedAttempts implements Attempts {
  private readonly commands: AttemptCommands;

  constructor(
    private readonly link: RedisLink,
    /** Key prefix, e.g. "identity:login:account:". */
    private readonly prefix: string,
    private readonly windowMs: number,
    private readonly fallback: Attempts,
  ) {
    link.client.defineCommand("attemptCount", { numberOfKeys: 1, lua: COUNT_SCRIPT });
    link.client.defineCommand("attemptState", { numberOfKeys: 1, lua: STATE_SCRIPT, readOnly: true });
    this.commands = link.client as unknown as AttemptCommands;
  }

  state(key: string) {
    return this.link.use(
      "login throttle command failed",
      async () => {
        const [count, resetInMs] = await this.commands.attemptState(this.prefix + key);
        return { count, resetInMs };
      },
      () => this.fallback.state(key),
    );
  }

  count(key: string) {
    return this.link.use(
      "login throttle command failed",
      () => this.commands.attemptCount(this.prefix + key, this.windowMs),
      () => this.fallback.count(key),
    );
  }

  async forget(key: string) {
    await this.link.use(
      "login throttle command failed",
      () => this.link.client.del(this.prefix + key),
      () => this.fallback.forget(key),
    );
  }
}

/** Counts under one key prefix: in Redis when there is one (in memory while it is down), else in memory. */
function openAttempts(prefix: string, windowSeconds: number, redis?: RedisLink, now: () => number = Date.now) {
  const windowMs = windowSeconds * 1000;
  const local = new LocalAttempts(new AttemptWindow(windowMs, now));
  return redis ? new SharedAttempts(redis, prefix, windowMs, local) : local;
}

/** The 429 for `client`, whose next try is `waitMs` away; `what` names what it did too often. */
function refusal(waitMs: number, client: string, what: "failed logins" | "registrations") {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  log("info", `${what} throttled`, { client, retry_after: seconds });
  return tooManyRequests(`Too many ${what}; try again in ${seconds} s`, seconds);
}

/**
 * The key a client address is counted under: an IPv4 address as it is (an IPv4-mapped IPv6 one as
 * its IPv4 address), an IPv6 address as its /64, since one subscriber is usually given a whole /64
 * and could otherwise count under 2^64 keys. Anything else (a test's label) as it is.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIP(address) !== 6) return address;
  const [head = "", tail] = address.split("%")[0]!.split("::");
  const before = head ? head.split(":") : [];
  const after = tail ? tail.split(":") : [];
  // an embedded IPv4 address (always last) fills two groups; "::" stands for the zero groups missing
  const width = after.reduce((sum, group) => sum + (group.includes(".") ? 2 : 1), before.length);
  const groups = tail === undefined ? before : [...before, ...Array<string>(8 - width).fill("0"), ...after];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}

export type LoginThrottleOptions = {
  perAccount: number;
  perClient: number;
  windowSeconds: number;
  /**
   * Failures for one email after which every client is refused, even one that has not been failing:
   * bounds guessing from many addresses. Default: 4 × perAccount.
   */
  perAccountFromAnyone?: number;
  /** Redis shared by the replicas; without it each process counts on its own. */
  redis?: RedisLink;
};

/** How many more failures than `perAccount` an email takes before clean clients are refused too. */
const FROM_ANYONE_FACTOR = 4;

/**
 * Slows down password guessing. After `perClient` failed logins from one client address within
 * the window, that client gets 429 with Retry-After until the window that started with its first
 * failure ends. After `perAccount` failures for one email, the email is refused to every client
 * that has failed a login in its own window (the guesser), while a client that has not may still
 * try: one wrong password and it is failing too. So whoever knows an email cannot lock its owner
 * out by failing at it (OWASP, Authentication Cheat Sheet, "Account Lockout"): the owner, on an
 * address that has not been failing, still gets in. Guessing from many addresses gets one try per
 * address and window, up to `perAccountFromAnyone` failures, then the email is refused to everyone.
 * A refused attempt's password is not checked, so a correct guess then teaches nothing. Only a
 * refused password counts: a success clears the account's count, and a 503 counts against nobody,
 * so many users behind one address (a load test, an office) are only slowed down by their own
 * failures.
 *
 * Attempts for one email run one after another in this process (each waits for the previous
 * one's verdict), so parallel guesses cannot slip past the account's limit while the slow password
 * hash runs. Parallel guesses at different emails from one client can pass its limit by the number
 * in flight at once; so can guesses at one email sent to different replicas at once (one each).
 *
 * With Redis the counts are shared by every process and replica (and survive their restarts);
 * without it, or while it is down, each process counts on its own, so N processes allow up to N
 * times the limit.
 */
export class LoginThrottle {
  private readonly accounts: Attempts;
  private readonly clients: Attempts;
  private readonly perAccountFromAnyone: number;
  /** The last attempt queued per email; an email is absent when no attempt for it is running. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly options: LoginThrottleOptions,
    now: () => number = Date.now,
  ) {
    this.accounts = openAttempts("identity:login:account:", options.windowSeconds, options.redis, now);
    this.clients = openAttempts("identity:login:client:", options.windowSeconds, options.redis, now);
    this.perAccountFromAnyone = options.perAccountFromAnyone ?? FROM_ANYONE_FACTOR * options.perAccount;
  }

  /** Runs `login` unless the account or the client is blocked; counts a refused password. */
  async attempt<T>(email: string, client: string, login: () => Promise<T>): Promise<T> {
    // a blocked caller is answered at once, without waiting in the email's queue
    await this.refuseIfBlocked(email, client);
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
    await this.refuseIfBlocked(email, client);
    let result: T;
    try {
      result = await login();
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        await Promise.all([this.accounts.count(email), this.clients.count(client)]);
      }
      throw error;
    }
    await this.accounts.forget(email);
    return result;
  }

  private async refuseIfBlocked(email: string, client: string) {
    const [account, from] = await Promise.all([this.accounts.state(email), this.clients.state(client)]);
    const waits: number[] = [];
    if (from.count >= this.options.perClient) waits.push(from.resetInMs);
    if (account.count >= this.perAccountFromAnyone) waits.push(account.resetInMs);
    // a failing client may try the email again once either window ends: the email's, or its own
    else if (account.count >= this.options.perAccount && from.count > 0) {
      waits.push(Math.min(account.resetInMs, from.resetInMs));
    }
    const waitMs = Math.max(0, ...waits);
    if (waitMs > 0) throw refusal(waitMs, client, "failed logins");
  }
}

/**
 * Limits registrations per client address, `perClient` in a window, 201s and 409s alike: each
 * one that reaches the database is counted before it runs (atomically in Redis), so parallel
 * ones cannot pass the limit, and the over-limit ones are 429 without a look-up or a hash.
 */
export class RegistrationThrottle {
  private readonly registrations: Attempts;

  constructor(
    private readonly options: { perClient: number; windowSeconds: number; redis?: RedisLink },
    now: () => number = Date.now,
  ) {
    this.registrations = openAttempts("identity:register:client:", options.windowSeconds, options.redis, now);
  }

  async attempt<T>(client: string, register: () => Promise<T>): Promise<T> {
    if ((await this.registrations.count(client)) > this.options.perClient) {
      throw refusal((await this.registrations.state(client)).resetInMs, client, "registrations");
    }
    return register();
  }
}
