#!/usr/bin/env node
/**
 * The `troupe` command: `troupe <command> [options]`, `troupe <command> --help`,
 * `troupe --version`. Commands are rows of {@link COMMANDS}.
 */
import { readFileSync } from 'node:fs';
import { isTroupeError } from '../protocol/index.js';
import type { Command } from './options.js';
import { startCommand } from './start.js';
import { mcpCommand } from './mcp.js';
import { defaultModules } from '../index.js';

/** A module's CLI command as a row of the table (it parses its own arguments). */
const moduleCommands: Command[] = defaultModules().flatMap((m) => m.commands ?? []).map((c) => ({
  name: c.name,
  summary: c.summary,
  options: [],
  async run(argv) {
    const code = await c.run(argv, { stdout: (l) => process.stdout.write(`${l}\n`), stderr: (l) => process.stderr.write(`${l}\n`) });
    process.exitCode = code;
  },
}));

/** Every subcommand; drill, audit and mcp join as rows. */
export const COMMANDS: ReadonlyArray<Command> = [startCommand, ...moduleCommands, mcpCommand];

/** Exit code of a usage or configuration error (a bad flag, value or file). */
const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'usage: troupe <command> [options]',
    '       troupe <command> --help',
    '       troupe --version',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(`troupe ${version()}\n`);
    return;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const named = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(named ? (await import('./options.js')).commandUsage(named) : usage());
    return;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    process.stderr.write(`troupe: TROUPE_ERR_CONFIG_INVALID: unknown command ${JSON.stringify(first)}\n\n${usage()}`);
    process.exit(EXIT_USAGE);
  }
  await command.run(rest, process.env);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (isTroupeError(e)) {
    process.stderr.write(`troupe: ${e.code}: ${e.message}\n`);
    process.exit(e.code === 'TROUPE_ERR_CONFIG_INVALID' ? EXIT_USAGE : 1);
  }
  process.stderr.write(`troupe: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
