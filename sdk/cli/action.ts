// Wraps a command's body: reads the global flags and the configuration, sets up the output, and turns any failure
// into one `error: …` line on stderr and a non-zero exit code.
import type { Command } from "commander";
import { describeError } from "../errors.ts";
import { loadConfig, type CliConfig, type GlobalFlags } from "./config.ts";
import { CliError, EXIT, Output, toJson } from "./output.ts";

export interface Env<O> {
  /** The command's own options merged with the global ones. */
  opts: O & GlobalFlags;
  config: CliConfig;
  out: Output;
  raw: boolean;
}

/** `program.command(...).action(action(async (env, ...args) => …))`. */
export function action<O, A extends unknown[]>(body: (env: Env<O>, ...args: A) => Promise<void>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const args = params.slice(0, -2) as A;
    const opts = command.optsWithGlobals<O & GlobalFlags>();
    const json = opts.json === true;
    const interactive = !json && opts.progress !== false && process.stdout.isTTY === true && process.stderr.isTTY === true;
    const out = new Output({ json, interactive });
    try {
      const config = await loadConfig(opts);
      await body({ opts, config, out, raw: opts.raw === true }, ...args);
    } catch (error) {
      const exitCode = error instanceof CliError ? error.exitCode : EXIT.failure;
      const message = error instanceof CliError ? error.message : describeError(error);
      const line = message.replace(/\s*\n\s*/g, " ");
      process.stderr.write(`error: ${line}\n`);
      if (json) process.stdout.write(toJson({ error: { message: line, exitCode } }) + "\n");
      process.exitCode = exitCode;
    }
  };
}

/** Collects a repeatable option (`--split a=1 --split b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
