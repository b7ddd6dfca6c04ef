import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { Clock, Terminated } from '../../protocol/index.js';
import type { NodeStore } from '../../storage/index.js';
import type { Activator, ActorSpec, AskOptions, TellOptions } from '../kernel/index.js';
import type { InspectionEvent, InspectionListener } from '../kernel/index.js';
import type { ActorRef } from '../kernel/index.js';

/**
 * The narrow part of a node a module starts with. Modules never see the node class: they
 * spawn and message actors, read the node's clock, logger and store, and find each other by
 * name through `module()`.
 */
export interface ModuleHost {
  readonly id: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The node's LMDB store; undefined on a node without a data dir. */
  readonly store: NodeStore | undefined;
  readonly isClosing: boolean;
  spawnSpec(spec: ActorSpec, under?: 'user' | 'system'): ActorRef;
  tell<M>(target: ActorRef<M> | string, message: M, options?: TellOptions): void;
  ask<R = unknown, M = unknown>(target: ActorRef<M> | string, message: M, options?: AskOptions): Promise<R>;
  /**
   * A durable tell: to another node through the LMDB outbox (re-sent after link cuts and
   * restarts, deduplicated on arrival); to this node a plain tell. Resolves once committed.
   */
  tellDurable<M>(target: ActorRef<M> | string, message: M, options?: { correlationId?: string }): Promise<string>;
  toRef(target: ActorRef | string): ActorRef;
  lookup(target: ActorRef | string): ActorRef | undefined;
  watch(target: ActorRef | string, fn: (s: Terminated) => void): () => void;
  stop(target: ActorRef | string): Promise<void>;
  /** Settle, delete and forget a persistence key's journal (its actor is gone for good). */
  dropJournal(key: string): Promise<void>;
  /** Subscribe to the node's inspection stream. */
  inspect(listener: InspectionListener): () => void;
  /** Publish an event on the node's inspection stream (a module's own observable steps). */
  emit(event: InspectionEvent): void;
  /** A live actor by path on this node or, failing that, anywhere in the cluster. */
  locate(path: string): Promise<ActorRef | undefined>;
  /** The other nodes of the cluster that are up (none without a cluster). */
  peers(): string[];
  /** Every other node of the cluster this node knows of, whatever its status (none without a cluster). */
  knownPeers(): string[];
  /**
   * The API of another module of this node, by name. Throws TROUPE_ERR_NODE_MODULE_MISSING
   * when the node was started without it.
   */
  module<A>(name: string): A;
  /** True when the node was started with the named module. */
  hasModule(name: string): boolean;
  /** Messages queued for a local actor (0 for none). */
  mailboxDepth(target: ActorRef | string): number;
  /**
   * Keep passivated actors under a path prefix addressable: a message to one with no live
   * actor has `activator` spawn it first. Returns an unregister function.
   */
  addActivator(prefix: string, activator: Activator): () => void;
}

/**
 * The minimal route table a module contributes HTTP routes to: fastify's `route()` shape,
 * declared here so that actors/ does not depend on the gateway (the gateway passes its
 * fastify instance, which has this method).
 */
export interface RouteTable {
  route(options: {
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    url: string;
    handler: (request: any, reply: any) => unknown;
    /** Errors of this route (fastify's body parsing included) go here instead of the node's handler. */
    errorHandler?: (error: any, request: any, reply: any) => unknown;
  }): unknown;
}

/**
 * A tool a module offers to MCP clients (the MCP issue serves them): its input is validated
 * with `input` before `call` runs.
 */
export interface McpToolDescriptor<I = unknown> {
  /** 1-64 of [A-Za-z0-9_-], unique across the node's modules. */
  readonly name: string;
  readonly description: string;
  readonly input: ZodType<I>;
  call(input: I, options: { signal: AbortSignal }): Promise<unknown>;
}

/** A `troupe <name>` subcommand a module adds to the CLI (`drill`, `audit verify`, ...). */
export interface CliCommand {
  /** The subcommand, e.g. `drill` or `audit verify`. */
  readonly name: string;
  /** One line for `troupe --help`. */
  readonly summary: string;
  /** Runs with the arguments after the subcommand; resolves with the exit code. */
  run(argv: readonly string[], io: { stdout: (line: string) => void; stderr: (line: string) => void }): Promise<number>;
}

/**
 * A started module: its API (what other modules and the library get by its name), and what
 * it contributes to the node. Each field is optional.
 */
export interface ModuleInstance<A = unknown> {
  readonly api: A;
  /** HTTP routes this module serves, mounted by the gateway when the node has one. */
  routes?(table: RouteTable): void;
  /** Subscribed to the node's inspection stream from start until close. */
  inspect?: InspectionListener;
  /** MCP tools this module offers. */
  readonly mcpTools?: readonly McpToolDescriptor<any>[];
  /** Prometheus text of the module's own series (its own registry), appended to `GET /metrics`. */
  metrics?(): Promise<string>;
  /** Shutdown phase 1, before the actors stop: refuse new work, let work in flight finish. */
  drain?(): Promise<void> | void;
  /** Shutdown phase 2, after the actors stopped and before storage closes: release resources. */
  release?(): Promise<void> | void;
}

/**
 * A capability of a node (agents, the gateway actor, and later a2a, drills, aoa, scheduler,
 * fabric, audit, orchestrator, mcp), one folder each. `startNode` takes the list (default:
 * every module troupe ships); modules start in list order after the ones they require, and
 * close in reverse.
 *
 * @example
 * const clockModule: NodeModule<{ now(): number }> = {
 *   name: 'clock',
 *   start: (host) => ({ api: { now: () => host.clock.now() } }),
 * };
 * const node = await startNode({ modules: [...defaultModules(), clockModule] });
 * node.module<{ now(): number }>('clock').now();
 */
export interface NodeModule<A = unknown> {
  /** 1-32 of [a-z0-9-], starting with a letter; unique in a node. */
  readonly name: string;
  /** Modules that must be started first (by name). */
  readonly requires?: readonly string[];
  /** CLI subcommands (static: the CLI lists them before any node starts). */
  readonly commands?: readonly CliCommand[];
  start(host: ModuleHost): ModuleInstance<A> | Promise<ModuleInstance<A>>;
}
