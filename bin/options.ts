import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TroupeError } from '../protocol/index.js';

/**
 * One command-line option: its flag, its environment twin and the config key it feeds.
 * Usage text, `util.parseArgs` options and environment reading all come from these rows,
 * so a flag cannot exist without its help line or its twin.
 */
export interface OptionSpec {
  /** Long flag without the dashes: `http-port`. */
  flag: string;
  type: 'string' | 'boolean';
  /** Key in the command's config object. */
  key: string;
  /** Environment twin, e.g. `TROUPE_HTTP_PORT`. */
  env?: string;
  /** Placeholder in the usage line: `N`, `FILE`, `URL,URL`. */
  value?: string;
  /** A comma-separated list (`--peers a,b`). */
  list?: boolean;
  help: string;
  /** Shown in the help text; the schema holds the real default. */
  default?: string;
}

/** A subcommand: `troupe <name> ...`. More commands (drill, audit, mcp) are more rows. */
export interface Command {
  name: string;
  summary: string;
  options: ReadonlyArray<OptionSpec>;
  /** Environment variables the command reads that have no flag (secrets kept out of argv). */
  envOnly?: ReadonlyArray<{ name: string; help: string }>;
  run(argv: string[], env: NodeJS.ProcessEnv): Promise<void>;
}

/** Options every command takes. */
export const HELP_OPTION: OptionSpec = { flag: 'help', type: 'boolean', key: 'help', help: 'show this help and exit' };

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

/**
 * Parse a command's flags and its environment twins. Unknown flags, missing values and
 * positionals are TROUPE_ERR_CONFIG_INVALID naming the flag (never a raw TypeError).
 * Returns `{ help: true }` alone when --help was given.
 */
export function parseCommandLine(command: Command, argv: string[], env: NodeJS.ProcessEnv): { help: boolean; fromEnv: Record<string, unknown>; fromFlags: Record<string, unknown> } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of [...command.options, HELP_OPTION]) options[o.flag] = { type: o.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> });
  } catch (cause) {
    const message = (cause as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `${message} (see: troupe ${command.name} --help)`, { cause });
  }
  if (values['help'] === true) return { help: true, fromEnv: {}, fromFlags: {} };
  const fromEnv: Record<string, unknown> = {};
  const fromFlags: Record<string, unknown> = {};
  for (const o of command.options) {
    const e = o.env === undefined ? undefined : env[o.env];
    if (e !== undefined && e !== '') fromEnv[o.key] = o.type === 'boolean' ? envBoolean(o.env!, e) : o.list ? list(e) : e;
    const f = values[o.flag];
    if (f !== undefined) fromFlags[o.key] = o.list && typeof f === 'string' ? list(f) : f;
  }
  return { help: false, fromEnv, fromFlags };
}

function envBoolean(name: string, v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `${name} must be true or false (got ${JSON.stringify(v)})`);
}

/** The usage text of one command: a synopsis, then every option with its twin and default. */
export function commandUsage(command: Command): string {
  const rows = [...command.options, HELP_OPTION];
  const left = rows.map((o) => `--${o.flag}${o.value ? ` ${o.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = rows.map((o, i) => {
    const extra = [o.env ? `env ${o.env}` : '', o.default !== undefined ? `default ${o.default}` : ''].filter(Boolean).join('; ');
    return `  ${left[i]!.padEnd(width)}${o.help}${extra ? ` (${extra})` : ''}`;
  });
  const out = [`usage: troupe ${command.name} [options]`, '', command.summary, '', 'options:', ...lines];
  if (command.envOnly && command.envOnly.length > 0) {
    const w = Math.max(...command.envOnly.map((e) => e.name.length)) + 2;
    out.push('', 'environment only:', ...command.envOnly.map((e) => `  ${e.name.padEnd(w)}${e.help}`));
  }
  return `${out.join('\n')}\n`;
}
