export const formatCount = (n: number) => n.toLocaleString("en-US");
export const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

type Table = { name: string; total: number; rows: number; started: number };

/**
 * Rows loaded per table: a line per finished table (rows, time, rows/s) and, on a terminal, a live
 * line with the tables still loading.
 */
export class Progress {
  private readonly tables = new Set<Table>();
  private readonly timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly say: (line: string) => void,
    private readonly live = false,
  ) {
    if (live) this.timer = setInterval(() => this.draw(), 500);
  }

  table(name: string, total: number) {
    const table: Table = { name, total, rows: 0, started: performance.now() };
    this.tables.add(table);
    return {
      add: (rows: number) => {
        table.rows += rows;
      },
      done: () => {
        this.tables.delete(table);
        const ms = performance.now() - table.started;
        const rate = table.rows / Math.max(ms / 1000, 0.001);
        this.clear();
        this.say(
          `  ${table.name.padEnd(24)} ${formatCount(table.rows).padStart(9)} rows  ${formatSeconds(ms).padStart(8)}  ${formatCount(Math.round(rate)).padStart(9)} rows/s`,
        );
        return ms;
      },
    };
  }

  stop() {
    clearInterval(this.timer);
    this.clear();
  }

  private draw() {
    if (this.tables.size === 0) return;
    const parts = [...this.tables].map((t) => `${t.name} ${Math.floor((100 * t.rows) / Math.max(t.total, 1))}%`);
    process.stdout.write(`\r\x1b[2K  loading: ${parts.join(" · ")}`);
  }

  private clear() {
    if (this.live) process.stdout.write("\r\x1b[2K");
  }
}
