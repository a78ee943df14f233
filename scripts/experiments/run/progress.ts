/** What locustfile.py's rate schedule writes to LAB_PROGRESS_FILE about once a second. */
export type RateProgress = {
  step: number;
  steps: number;
  offered_rps: number;
  measuring: boolean;
  achieved_rps: number | null;
  p99_ms: number | null;
  failures: number;
  seconds_left_at_most: number;
};

/** One progress line: the rate ladder's step, offered/achieved, p99 so far and time left, or time alone. */
export function progressText(status: RateProgress | null, elapsedS: number, plannedS: number): string {
  const time = `${Math.round(elapsedS)} s`;
  if (!status) return `load running ${time}, at most ${Math.max(0, Math.round(plannedS - elapsedS))} s left`;
  const achieved = status.achieved_rps === null ? "–" : `${status.achieved_rps}`;
  const p99 = status.p99_ms === null ? "–" : `${Math.round(status.p99_ms)} ms`;
  const phase = status.measuring ? "measuring" : "settling";
  return (
    `step ${status.step}/${status.steps} ${phase}: offered ${status.offered_rps} req/s, achieved ${achieved}, ` +
    `p99 ${p99}, ${status.failures} failed; ${time} in, at most ${status.seconds_left_at_most} s left`
  );
}

/**
 * While Locust runs: on a terminal a live line rewritten every 2 s; elsewhere (CI, a log file) the
 * last line seen of each rate step once the ladder has moved past it, and one a minute for other loads.
 */
export class ProgressLine {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly started = performance.now();
  private lastStatus: RateProgress | null = null;
  private lastPlain = 0;

  constructor(
    private readonly file: string,
    private readonly plannedS: number,
    private readonly say: (line: string) => void,
    private readonly live = Boolean(process.stdout.isTTY),
  ) {}

  start() {
    this.timer = setInterval(() => void this.draw(), 2000);
  }

  stop() {
    clearInterval(this.timer);
    if (this.live) process.stdout.write("\r\x1b[2K");
  }

  private async draw() {
    const elapsed = (performance.now() - this.started) / 1000;
    const file = Bun.file(this.file);
    const status = (await file.exists()) ? ((await file.json().catch(() => null)) as RateProgress | null) : null;
    const text = progressText(status, elapsed, this.plannedS);
    if (this.live) {
      process.stdout.write(`\r\x1b[2K${text.slice(0, (process.stdout.columns ?? 160) - 1)}`);
    } else if (status) {
      const previous = this.lastStatus;
      if (previous && previous.step !== status.step) this.say(progressText(previous, elapsed, this.plannedS));
      this.lastStatus = status;
    } else if (elapsed - this.lastPlain >= 60) {
      this.lastPlain = elapsed;
      this.say(text);
    }
  }
}
