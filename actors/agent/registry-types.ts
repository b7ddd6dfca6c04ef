import type { ChatMessage } from '../../protocol/index.js';
import type { ModuleHost } from '../modules/index.js';
import type { RunResult } from './messages.js';
import type { ModelProvider, ProviderConfig } from './model/index.js';
import type { RunOptions, RunRequest } from './run-request.js';

/** A conversation as `agent.conversation` returns it. */
export interface ConversationView {
  conversationId: string;
  turns: number;
  updatedAt: number;
  messages: ChatMessage[];
}

/** The part of a node the registry needs (the module host, narrowed). */
export type AgentHost = Pick<ModuleHost,
  'id' | 'logger' | 'clock' | 'store' | 'dropJournal' | 'isClosing' | 'spawnSpec' | 'tell' | 'ask' | 'locate' | 'peers' | 'stop' | 'toRef' | 'lookup' | 'watch' | 'mailboxDepth' | 'addActivator' | 'inspect'>;

/** Who runs agents for the registry: the gateway actor (found by name through the node). */
export interface AgentRunner {
  run(target: { kind: 'agent'; name: string }, req: RunRequest, opts?: RunOptions): Promise<RunResult>;
}

/** Where the node's default model comes from. */
export interface AgentRegistryOptions {
  /** A ready provider (tests, custom backends). Wins over `model`. */
  provider?: ModelProvider;
  /** Provider config; default: OPENAI_BASE_URL / OPENAI_API_KEY / TROUPE_MODEL from the environment. */
  model?: ProviderConfig;
  /**
   * Key that seals durable agents' provider secrets (apiKey, headers) at rest
   * (TROUPE_DATA_KEY; at least 16 characters; never stored). Without it such agents are refused.
   */
  dataKey?: string;
  /**
   * Idle time (ms) after which an agent with a journal is passivated, unless its spec sets
   * its own `passivateAfterMs`; 0: never. Default 600,000 (10 minutes).
   */
  passivateAfterMs?: number;
}
