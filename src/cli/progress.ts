// A progress bar on stderr. On a terminal it redraws one line; otherwise (pipes, logs,
// tests) it prints a short line at every 10% so logs stay readable.

export class Progress {
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(done: number): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(frac * width);
      const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
      this.stream.write(`\r${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${this.timing(frac, now)}\x1b[K`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${this.label} ${(frac * 100).toFixed(0)}% ${done}/${this.total} ${this.timing(frac, now)}\n`);
    }
  }

  finish(): void {
    this.update(this.total);
    if (this.tty) this.stream.write('\n');
  }

  private timing(frac: number, now: number): string {
    const elapsed = (now - this.start) / 1000;
    if (frac >= 1 || frac === 0) return `${elapsed.toFixed(1)}s`;
    return `${elapsed.toFixed(1)}s, eta ${((elapsed / frac) * (1 - frac)).toFixed(1)}s`;
  }
}
