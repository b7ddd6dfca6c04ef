import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a {@link Receiver} got. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  status: number;
}

/**
 * A real webhook receiver on 127.0.0.1, port 0: records every request, and answers each with
 * the next status of `statuses` (then `fallback`).
 */
export class Receiver {
  readonly got: Received[] = [];
  statuses: number[] = [];
  fallback = 200;
  private server!: Server;
  url = '';

  static async start(port = 0): Promise<Receiver> {
    const r = new Receiver();
    r.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const status = r.statuses.shift() ?? r.fallback;
        r.got.push({ path: req.url ?? '', headers: req.headers, body, json, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => r.server.listen(port, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Delivered (2xx-answered) bodies. */
  delivered(): any[] {
    return this.got.filter((g) => g.status >= 200 && g.status < 300).map((g) => g.json);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The task state a 1.0 notification body carries (task or statusUpdate), else undefined. */
export function stateOf(body: any): string | undefined {
  return body?.statusUpdate?.status?.state ?? body?.task?.status?.state;
}
