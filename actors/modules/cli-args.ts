import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliCommand } from './module.js';

/** Parsed arguments of a module's CLI command. */
export interface CliArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * The common start of a module's `troupe <name>` command: parse `argv` strictly, print the
 * usage on `--help` (exit 0) or a coded error plus the usage on a bad flag (exit 2). Returns
 * the arguments, or the exit code when the command is already done.
 *
 * @example
 * const args = parseCommandArgs('audit', argv, { data: { type: 'string' } }, USAGE, io);
 * if (typeof args === 'number') return args;
 */
export function parseCommandArgs(
  name: string,
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  usage: string,
  io: Parameters<CliCommand['run']>[1],
): CliArgs | number {
  let parsed: CliArgs;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { ...options, help: { type: 'boolean' } } }) as CliArgs;
  } catch (e) {
    io.stderr(`troupe ${name}: TROUPE_ERR_CONFIG_INVALID: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (parsed.values['help']) {
    io.stdout(usage);
    return 0;
  }
  return parsed;
}
