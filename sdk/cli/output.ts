// Results go to stdout (one JSON object with --json, readable lines otherwise); progress and notes go to stderr,
// and progress is drawn only when a person is watching (both streams are terminals), so pipes stay clean.
import { formatBytes } from "../onnx.ts";

/** An error the CLI reports as one line, with the exit code that classifies it. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Exit codes: scripts can tell a bad input from an environment problem from a contract refusal. */
export const EXIT = {
  ok: 0,
  /** Unexpected failure. */
  failure: 1,
  /** Bad arguments or input files: nothing was sent. */
  usage: 2,
  /** RPC unreachable, wrong chain, no deployment, unfunded account: nothing was sent. */
  environment: 3,
  /** The contract would revert (caught by simulation, nothing sent), or a sent transaction reverted. */
  rejected: 4,
} as const;

export interface OutputOptions {
  json: boolean;
  /** Draw progress bars and spinners. */
  interactive: boolean;
}

export type Fields = Record<string, unknown>;

export class Output {
  readonly json: boolean;
  readonly interactive: boolean;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.interactive = options.interactive;
  }

  /** Prints the command's result: `data` as JSON, or `human` (lines or a key/value table). */
  result(data: Fields, human?: string | string[] | Fields): void {
    if (this.json) {
      process.stdout.write(toJson(data) + "\n");
      return;
    }
    const body = human ?? data;
    if (typeof body === "string") process.stdout.write(body + "\n");
    else if (Array.isArray(body)) process.stdout.write(body.join("\n") + "\n");
    else process.stdout.write(table(body) + "\n");
  }

  /** A note for the person at the terminal (never on stdout, never in --json mode). */
  note(message: string): void {
    if (!this.json) process.stderr.write(message + "\n");
  }

  /** A byte-count progress bar; a no-op object when nobody is watching. */
  bar(label: string, total: number): Progress {
    return this.interactive ? new Bar(label, total) : SILENT;
  }

  /** A spinner with elapsed time, for waits with no known length (receipts). */
  spinner(label: string): Progress {
    return this.interactive ? new Spinner(label) : SILENT;
  }
}

export interface Progress {
  update(done: number, total?: number): void;
  stop(finalMessage?: string): void;
}

const SILENT: Progress = { update() {}, stop() {} };

class Bar implements Progress {
  private total: number;
  private done = 0;
  private lastDraw = 0;
  private readonly label: string;
  constructor(label: string, total: number) {
    this.label = label;
    this.total = total;
    this.draw();
  }
  update(done: number, total?: number): void {
    this.done = done;
    if (total !== undefined) this.total = total;
    // Redrawing on every chunk of a multi-GiB upload would cost more than the upload's bookkeeping.
    const now = Date.now();
    if (now - this.lastDraw >= 100 || done >= this.total) this.draw();
  }
  stop(finalMessage?: string): void {
    this.done = this.total;
    this.draw();
    process.stderr.write(finalMessage ? `\r\x1b[K${finalMessage}\n` : "\n");
  }
  private draw(): void {
    this.lastDraw = Date.now();
    const width = 30;
    const ratio = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(ratio * width);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    process.stderr.write(`\r\x1b[K${this.label} ${bar} ${(ratio * 100).toFixed(0).padStart(3)}% ${formatBytes(this.done)} / ${formatBytes(this.total)}`);
  }
}

class Spinner implements Progress {
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();
  private frame = 0;
  private readonly label: string;
  constructor(label: string) {
    this.label = label;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
    this.draw();
  }
  update(): void {}
  stop(finalMessage?: string): void {
    clearInterval(this.timer);
    process.stderr.write(`\r\x1b[K${finalMessage ? finalMessage + "\n" : ""}`);
  }
  private draw(): void {
    const frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    process.stderr.write(`\r\x1b[K${frames[this.frame++ % frames.length]} ${this.label} (${seconds}s)`);
  }
}

/** JSON with bigints as decimal strings (exact; JSON numbers would lose precision above 2^53). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** Aligned `key  value` lines; nested values are shown as compact JSON. */
export function table(fields: Fields): string {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  return entries
    .map(([k, v]) => {
      const text = typeof v === "string" ? v : typeof v === "bigint" ? v.toString() : JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
      return `${k.padEnd(width)}  ${text}`;
    })
    .join("\n");
}
