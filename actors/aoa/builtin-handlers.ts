import type { ModuleHost } from '../modules/index.js';
import type { TaskHandler } from './task.js';

/** Handlers troupe ships for the seed's task types (a registered handler wins). */
export const BUILTIN_HANDLERS: Record<string, (host: ModuleHost) => TaskHandler | undefined> = {
  AGENT_RUN: (host) => {
    if (!host.hasModule('agents')) return undefined;
    return async ({ task, signal }) => {
      const p = task.payload as { agent: string; input: string | Array<{ role: 'system' | 'user' | 'assistant'; content: string }>; conversation_id?: string };
      const input = typeof p.input === 'string' ? [{ role: 'user' as const, content: p.input }] : p.input;
      const agents = host.module<{ run(name: string, req: unknown, opts: { signal: AbortSignal; timeoutMs: number }): Promise<unknown> }>('agents');
      return agents.run(p.agent, { input, ...(p.conversation_id ? { conversationId: p.conversation_id } : {}) }, { signal, timeoutMs: task.timeout_seconds * 1000 });
    };
  },
};
