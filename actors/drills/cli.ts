import { z } from 'zod';
import { DRILL_KINDS, MAX_SLOW_CLIENT_BYTES, UPSTREAM_DRILL_FAULTS, drillReportSchema } from '../../supervisors/index.js';
import { parseCommandArgs, type CliCommand } from '../modules/index.js';

const USAGE = `usage: troupe drill <${DRILL_KINDS.join('|')}> --target PATH|agent:NAME|NODE [--duration MS] [--rate N] [--url URL]
         [--fault ${UPSTREAM_DRILL_FAULTS.join('|')}] [--retry-after MS]   (upstream)
         [--answer-bytes N] [--read-every MS]   (slow-client)
  Runs a fault drill on a running node started with --allow-drills, waits for its report,
  prints it as JSON; exit 0 when the hypothesis held, 1 when violated or failed.
  The API key comes from TROUPE_API_KEY (or the first of TROUPE_API_KEYS); the URL from
  --url or TROUPE_URL (default http://127.0.0.1:8787).`;

/** Longest the CLI waits for a drill's report beyond its duration. */
const GRACE_MS = 30_000;

/**
 * `troupe drill <kind>`: POST /api/v1/drills on a running node, poll GET /api/v1/drills/:id
 * until the drill ends, print the report.
 */
export const drillCommand: CliCommand = {
  name: 'drill',
  summary: 'Run a fault drill (crash, kill, poison, flood, restart-storm, upstream, partition, kill-node, storage, slow-client) against a running node over HTTP and print its report.',
  async run(argv, io) {
    const parsedArgs = parseCommandArgs('drill', argv, {
          target: { type: 'string' }, duration: { type: 'string' }, rate: { type: 'string' }, url: { type: 'string' },
          fault: { type: 'string' }, 'retry-after': { type: 'string' }, 'answer-bytes': { type: 'string' }, 'read-every': { type: 'string' },
        }, USAGE, io);
    if (typeof parsedArgs === 'number') return parsedArgs;
    const { values, positionals } = parsedArgs;
    const args = z.object({
      kind: z.enum(DRILL_KINDS),
      target: z.string().min(1).max(512),
      duration: z.coerce.number().int().positive().max(600_000).optional(),
      rate: z.coerce.number().int().positive().max(100_000).optional(),
      url: z.url().default(process.env['TROUPE_URL'] || 'http://127.0.0.1:8787'),
      fault: z.enum(UPSTREAM_DRILL_FAULTS).optional(),
      retryAfter: z.coerce.number().int().positive().max(600_000).optional(),
      answerBytes: z.coerce.number().int().positive().max(MAX_SLOW_CLIENT_BYTES).optional(),
      readEvery: z.coerce.number().int().positive().max(60_000).optional(),
    }).safeParse({
      kind: positionals[0], target: values['target'], duration: values['duration'], rate: values['rate'], url: values['url'],
      fault: values['fault'], retryAfter: values['retry-after'], answerBytes: values['answer-bytes'], readEvery: values['read-every'],
    });
    if (!args.success || positionals.length !== 1) {
      io.stderr(`troupe drill: TROUPE_ERR_CONFIG_INVALID: ${args.success ? 'one drill kind expected' : args.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n${USAGE}`);
      return 2;
    }
    const a = args.data;
    const key = process.env['TROUPE_API_KEY'] || (process.env['TROUPE_API_KEYS'] ?? '').split(',')[0]?.trim();
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
    const base = a.url.replace(/\/$/, '');
    const body = {
      kind: a.kind, target: a.target, ...(a.duration ? { durationMs: a.duration } : {}), ...(a.rate ? { rate: a.rate } : {}),
      ...(a.fault ? { fault: a.fault } : {}), ...(a.retryAfter ? { retryAfterMs: a.retryAfter } : {}),
      ...(a.answerBytes ? { answerBytes: a.answerBytes } : {}), ...(a.readEvery ? { readEveryMs: a.readEvery } : {}),
    };
    const res = await fetch(`${base}/api/v1/drills`, { method: 'POST', headers, body: JSON.stringify(body) });
    const started = (await res.json()) as { id?: string; error?: { code: string; message: string } };
    if (res.status !== 202 || !started.id) {
      io.stderr(`troupe drill: ${started.error?.code ?? res.status}: ${started.error?.message ?? 'drill refused'}`);
      return 1;
    }
    const deadline = Date.now() + (a.duration ?? 5_000) + GRACE_MS;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await fetch(`${base}/api/v1/drills/${started.id}`, { headers });
      const report = drillReportSchema.safeParse(await r.json());
      if (!report.success) continue;
      if (report.data.status === 'running') continue;
      io.stdout(JSON.stringify(report.data, null, 2));
      return report.data.status === 'finished' && report.data.verdict === 'held' ? 0 : 1;
    }
    io.stderr(`troupe drill: drill ${started.id} did not finish in time`);
    return 1;
  },
};
