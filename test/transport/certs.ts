import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM text of a test CA and of a certificate it signed for 127.0.0.1 and localhost. */
export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
  /** Another CA, which signed nothing of the above. */
  otherCa: string;
}

/**
 * Make fresh certificates with the machine's `openssl` (at test time; nothing is checked in).
 *
 * @example
 * const { ca, cert, key } = makeCerts();
 */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-certs-'));
  const at = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    ssl('req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=troupe test CA');
    ssl('req', '-x509', ...ec, '-keyout', at('other.key'), '-out', at('other.pem'), '-days', '2', '-subj', '/CN=someone else');
    ssl('req', ...ec, '-keyout', at('node.key'), '-out', at('node.csr'), '-subj', '/CN=localhost');
    writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', at('node.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('node.pem'), '-days', '2', '-extfile', at('ext.cnf'));
    const read = (f: string) => readFileSync(at(f), 'utf8');
    return { ca: read('ca.pem'), cert: read('node.pem'), key: read('node.key'), otherCa: read('other.pem') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
