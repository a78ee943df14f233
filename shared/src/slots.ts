type Waiter = { grant: () => void; timer: ReturnType<typeof setTimeout> };

/**
 * At most `max` holders at once; a caller that finds every slot taken waits in line, and one that
 * waits longer than `waitMs` gets `refusal()` thrown instead (a 503 with Retry-After, for its callers).
 */
export class Slots {
  private readonly waiters: Waiter[] = [];
  private busy = 0;
  /** Callers refused because no slot came free in time. */
  refusedTotal = 0;
  /** Callers that had to wait in line, and the seconds they waited in all (granted or refused). */
  waitsTotal = 0;
  waitSecondsTotal = 0;

  constructor(
    readonly max: number,
    private readonly waitMs: number,
    private readonly refusal: () => Error,
  ) {}

  get inUse() {
    return this.busy;
  }

  get waiting() {
    return this.waiters.length;
  }

  /** Runs `work` holding one slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  acquire(): Promise<void> {
    if (this.busy < this.max) {
      this.busy++;
      return Promise.resolve();
    }
    this.waitsTotal++;
    const queued = performance.now();
    const waited = () => {
      this.waitSecondsTotal += (performance.now() - queued) / 1000;
    };
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          waited();
          resolve();
        },
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waited();
          this.refusedTotal++;
          reject(this.refusal());
        }, this.waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  release() {
    const next = this.waiters.shift();
    if (!next) {
      this.busy--;
      return;
    }
    clearTimeout(next.timer);
    next.grant();
  }
}
