import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { decode, describeIssues, encode, isLoopbackAddress } from '../protocol/index.js';
import { CLOSE_CODES, closeCodeName } from './close-codes.js';
import { parseFrame, helloFrameSchema, proofFrameSchema, PROTOCOL_VERSION, type Frame, type HelloFrame } from './frames.js';
import { computeProof, newNonce, verifyProof, type HandshakeRole, type ProofInput } from './handshake.js';
import type { EnvelopeMeta } from './options.js';
import type { TransportStats } from './events.js';
import type { Member } from './member.js';
import { MAX_FRAME_DEPTH, msgpackDepthExceeds } from './depth.js';
import { readCleanBatch } from './batch-decode.js';

/** Who this node is, as a link presents it in its hello. */
export interface LocalIdentity {
  readonly nodeId: string;
  readonly cluster: string;
  readonly incarnation: string;
  readonly peerUrl: string;
  readonly secret: string | undefined;
  readonly maxFrameBytes: number;
}

/** What a {@link Link} needs from its transport. */
export interface LinkHost {
  readonly identity: LocalIdentity;
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  /** Flushing stops above this many unsent bytes and resumes once below half of it. */
  readonly highWaterBytes: number;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
  /** Both proofs checked out. */
  authenticated(link: Link): void;
  /** False for a peer this node must not link with now (a partition drill); absent: every peer. */
  admit?(node: string): boolean;
  /** A validated post-handshake frame. */
  frame(link: Link, frame: Exclude<Frame, { t: 'hello' | 'proof' }>): void;
  /** The socket is closed (after an error, a close from either side, or terminate). */
  closed(link: Link, code: number, reason: string): void;
  rejected(link: Link, code: number, reason: string): void;
  protocolError(link: Link, reason: string): void;
  /** Backpressure cleared on a link that had stopped flushing. */
  drained(link: Link): void;
}

type LinkState = 'handshake' | 'open' | 'closed';

/**
 * One WebSocket to one peer: runs the handshake (hello both ways; then the dialer's HMAC
 * proof, checked by the acceptor before it sends its own), validates every inbound frame,
 * and counts traffic.
 * Membership, queues and routing live in the transport; a link is only the pipe.
 */
export class Link {
  readonly ws: WebSocket;
  readonly direction: 'in' | 'out';
  /** For outbound links: the URL dialed (so the dialer can map it to a node). */
  readonly dialUrl: string | undefined;
  readonly nonce: Buffer = newNonce();
  remote: string | undefined;
  state: LinkState = 'handshake';
  /** The peer's hello, once received and checked. */
  peer: HelloFrame | undefined;
  /** Set when the link was authenticated and bound to a member. */
  member: Member | undefined;
  /** `{ fromNode }` handed to every non-durable envelope from this link: made once. */
  meta: EnvelopeMeta | undefined;
  lastSeen: number;
  /** Not flushing until the socket drains below the high-water mark. */
  paused = false;
  /** The code we closed with, if we closed first. */
  closeCode: number | undefined;
  closeReason = '';
  /** The peer turned out to be this very node (a seed listing our own URL). */
  isSelf = false;
  /** Largest frame the peer accepts (from its hello). */
  peerMaxFrame = 0;
  /** Frames written to and read from this socket (both ends of one socket agree once it is idle). */
  framesOut = 0;
  framesIn = 0;
  #host: LinkHost;
  #timer: unknown;
  #onWritten: (err?: Error) => void;

  constructor(host: LinkHost, ws: WebSocket, direction: 'in' | 'out', remote: string | undefined, dialUrl?: string) {
    this.#host = host;
    this.ws = ws;
    this.direction = direction;
    this.remote = remote;
    this.dialUrl = dialUrl;
    this.lastSeen = host.now();
    this.#onWritten = (err) => {
      if (!err) this.checkDrained();
    };
    this.#timer = host.setTimer(() => {
      if (this.state === 'handshake') this.reject(CLOSE_CODES.handshakeTimeout, `handshake not finished within ${host.handshakeTimeoutMs}ms`);
    }, host.handshakeTimeoutMs);
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    ws.on('error', (err) => this.#onError(err));
    if (direction === 'in') this.#openHandshake();
    else {
      ws.on('upgrade', (res) => {
        this.remote = res.socket.remoteAddress;
      });
      ws.on('open', () => this.#openHandshake());
    }
  }

  /** The peer's node id once its hello arrived. */
  get node(): string | undefined {
    return this.peer?.nodeId;
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.ws.readyState === 1;
  }

  /** Write one encoded frame; false when the socket is not open. */
  send(bytes: Buffer): boolean {
    if (this.ws.readyState !== 1) return false;
    this.ws.send(bytes, this.#onWritten);
    this.framesOut++;
    this.#host.stats.framesOut++;
    this.#host.stats.bytesOut += bytes.byteLength;
    return true;
  }

  /** True (and flushing stops) once the socket holds more than the high-water mark of unsent bytes. */
  overHighWater(): boolean {
    if (!this.paused && this.ws.bufferedAmount > this.#host.highWaterBytes) this.paused = true;
    return this.paused;
  }

  /** Resume flushing once a paused socket is down to half the high-water mark. */
  checkDrained(): void {
    if (this.paused && this.state === 'open' && this.ws.bufferedAmount <= this.#host.highWaterBytes / 2) {
      this.paused = false;
      this.#host.drained(this);
    }
  }

  /** Close with a code and reason; falls back to terminate if the close handshake stalls. */
  close(code: number, reason: string): void {
    if (this.state === 'closed' || this.closeCode !== undefined) return;
    this.closeCode = code;
    this.closeReason = reason;
    if (this.ws.readyState === 0) {
      this.terminate();
      return;
    }
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.terminate();
      return;
    }
    this.#host.clearTimer(this.#timer);
    this.#timer = this.#host.setTimer(() => this.terminate(), this.#host.closeTimeoutMs);
  }

  /** Drop the socket at once, no close frame: what a crash or a cut cable looks like. */
  terminate(): void {
    if (this.state === 'closed') return;
    this.ws.terminate();
  }

  /** Close this link as a protocol violation (counted, logged, 4004). */
  protocolError(reason: string): void {
    this.#protocolError(reason);
  }

  /** Close a link whose handshake failed, recording why. */
  reject(code: number, reason: string): void {
    if (this.state === 'closed' || this.closeCode !== undefined) return;
    this.#host.rejected(this, code, reason);
    this.close(code, reason);
  }

  #openHandshake(): void {
    const id = this.#host.identity;
    if (id.secret === undefined && !isLoopbackAddress(this.remote)) {
      // Without a secret anyone who can reach the port could join, so only this machine may.
      this.reject(CLOSE_CODES.auth, `no cluster secret configured: refusing non-loopback peer ${this.remote ?? '?'}`);
      return;
    }
    this.send(
      encode({
        t: 'hello',
        nodeId: id.nodeId,
        cluster: id.cluster,
        protocolVersion: PROTOCOL_VERSION,
        incarnation: id.incarnation,
        peerUrl: id.peerUrl,
        nonce: this.nonce,
        maxFrame: id.maxFrameBytes,
      }),
    );
  }

  #protocolError(reason: string): void {
    if (this.closeCode !== undefined) return;
    this.#host.protocolError(this, reason);
    this.close(CLOSE_CODES.protocolError, reason);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    const host = this.#host;
    this.framesIn++;
    host.stats.framesIn++;
    host.stats.bytesIn += data.byteLength;
    if (!isBinary) return this.#protocolError('text frame');
    if (this.state === 'handshake' && this.closeCode !== undefined) return;
    if (this.state === 'open') {
      // the common frame, a batch of plain envelopes, read and checked in one pass (should it
      // ever throw, a bug of ours, the general path below still judges the frame)
      let envs: ReturnType<typeof readCleanBatch>;
      try {
        envs = readCleanBatch(data);
      } catch {
        envs = undefined;
      }
      if (envs !== undefined) {
        this.lastSeen = host.now();
        try {
          host.frame(this, { t: 'batch', envs });
        } catch (err) {
          this.#internalError(err, 'batch');
        }
        return;
      }
    }
    // Before decoding: a payload nested thousands deep decodes fine, then overflows the
    // stack wherever it is walked again (re-encoding, the journal, JSON).
    if (msgpackDepthExceeds(data, MAX_FRAME_DEPTH)) return this.#protocolError(`frame nests arrays or maps deeper than ${MAX_FRAME_DEPTH} levels`);
    let raw: unknown;
    try {
      raw = decode(data, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      return this.#protocolError((e as Error).message);
    }
    if (this.state === 'handshake') return this.#onHandshakeFrame(raw);
    const r = parseFrame(raw);
    if (!r.success) return this.#protocolError(`invalid frame: ${summarize(r.error.issues)}`);
    const frame = r.data;
    if (frame.t === 'hello' || frame.t === 'proof') return this.#protocolError(`unexpected ${frame.t} after handshake`);
    if (frame.t === 'durable') {
      // durable envelopes travel packed inside the frame: their depth is checked on their own bytes
      for (const item of frame.items) {
        if (msgpackDepthExceeds(item.bytes, MAX_FRAME_DEPTH)) return this.#protocolError(`durable envelope nests deeper than ${MAX_FRAME_DEPTH} levels`);
      }
    }
    this.lastSeen = host.now();
    try {
      host.frame(this, frame);
    } catch (err) {
      this.#internalError(err, frame.t);
    }
  }

  /** A bug of ours while handling a frame must cost this link, never the process. */
  #internalError(err: unknown, what: string): void {
    this.#host.log.error({ err, peer: this.node, frame: what }, 'error handling a peer frame; closing link');
    this.close(1011, 'internal error');
  }

  #onHandshakeFrame(raw: unknown): void {
    const id = this.#host.identity;
    const t = typeof raw === 'object' && raw !== null ? (raw as { t?: unknown }).t : undefined;
    if (this.peer === undefined) {
      if (t !== 'hello') return this.#protocolError(`expected hello, got ${typeof t === 'string' ? t.slice(0, 32) : typeof raw}`);
      const version = (raw as { protocolVersion?: unknown }).protocolVersion;
      if (version !== PROTOCOL_VERSION) {
        return this.reject(CLOSE_CODES.versionMismatch, `protocol version ${String(version).slice(0, 16)} != ${PROTOCOL_VERSION}`);
      }
      const r = helloFrameSchema.safeParse(raw);
      if (!r.success) return this.#protocolError(`invalid hello: ${summarize(r.error.issues)}`);
      const hello = r.data;
      if (hello.cluster !== id.cluster) return this.reject(CLOSE_CODES.clusterMismatch, `cluster '${hello.cluster}' != '${id.cluster}'`);
      if (hello.nodeId === id.nodeId) {
        this.isSelf = hello.incarnation === id.incarnation;
        return this.reject(CLOSE_CODES.selfConnection, this.isSelf ? 'connected to self' : `another node uses node id '${id.nodeId}'`);
      }
      // a partition drill cuts this peer off: drop the socket as a cut cable would, mid-handshake
      if (this.#host.admit !== undefined && !this.#host.admit(hello.nodeId)) return this.terminate();
      this.peer = hello;
      this.peerMaxFrame = Math.min(hello.maxFrame ?? id.maxFrameBytes, id.maxFrameBytes);
      // The dialer proves first; the acceptor answers only once that proof checked out.
      if (this.direction === 'out') this.send(encode({ t: 'proof', mac: computeProof(id.secret, this.#transcript('dialer')) }));
      return;
    }
    if (t !== 'proof') return this.#protocolError(`expected proof, got ${typeof t === 'string' ? t.slice(0, 32) : typeof raw}`);
    const r = proofFrameSchema.safeParse(raw);
    if (!r.success) return this.#protocolError(`invalid proof: ${summarize(r.error.issues)}`);
    const peerRole = this.direction === 'in' ? 'dialer' : 'acceptor';
    if (!verifyProof(id.secret, this.#transcript(peerRole), r.data.mac)) {
      return this.reject(CLOSE_CODES.auth, `node '${this.peer.nodeId}' failed the cluster secret proof`);
    }
    if (this.direction === 'in') this.send(encode({ t: 'proof', mac: computeProof(id.secret, this.#transcript('acceptor')) }));
    this.#opened();
  }

  /** This link's handshake transcript, as the side in `role` proves it. */
  #transcript(role: HandshakeRole): ProofInput {
    const id = this.#host.identity;
    const peer = this.peer!;
    const self = { node: id.nodeId, incarnation: id.incarnation, nonce: this.nonce };
    const other = { node: peer.nodeId, incarnation: peer.incarnation, nonce: peer.nonce };
    return this.direction === 'out'
      ? { cluster: id.cluster, role, dialer: self, acceptor: other }
      : { cluster: id.cluster, role, dialer: other, acceptor: self };
  }

  #opened(): void {
    const host = this.#host;
    this.state = 'open';
    this.lastSeen = host.now();
    host.clearTimer(this.#timer);
    this.#timer = undefined;
    try {
      host.authenticated(this);
    } catch (err) {
      this.#internalError(err, 'proof');
    }
  }

  #onError(err: Error): void {
    const code = (err as { code?: string }).code;
    if (code !== undefined && code.startsWith('WS_ERR_')) {
      // A frame ws itself refused (too large, bad opcode, bad UTF-8, ...): the peer broke the protocol.
      this.#host.protocolError(this, `${code}: ${err.message}`);
    } else {
      this.#host.log.debug({ err, node: this.node, remote: this.remote }, 'peer link error');
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.#host.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#host.closed(this, this.closeCode ?? code, this.closeCode !== undefined ? this.closeReason : reason || closeCodeName(code));
  }
}

/** The first few issues of a refused frame, short enough for a close reason and a log line. */
function summarize(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return describeIssues({ issues: issues.slice(0, 3) }).slice(0, 300);
}
