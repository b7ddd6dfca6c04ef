import type { AgentHost } from './registry-types.js';
import type { AgentEntry } from './info.js';
import type { AgentSpecStore } from './spec-record.js';

/**
 * Drop a removed agent's journal: the node drains its pending commits, deletes it and forgets
 * its log. A failure is logged, never thrown (the agent is gone either way).
 */
export async function dropAgentJournal(host: AgentHost, key: string, agent: string): Promise<void> {
  try {
    await host.dropJournal(key);
  } catch (e) {
    host.logger.warn({ err: e, key, agent }, 'could not purge the journal of a removed agent');
  }
}

/**
 * An agent stopped for good was replaced by a new one of the same name: when it was durable,
 * drop its journal (and its spec, unless the new agent stores its own).
 */
export async function discardReplaced(host: AgentHost, specs: AgentSpecStore | undefined, old: AgentEntry, by: AgentEntry): Promise<void> {
  if (!old.durable || !specs || specs.closed) return;
  try {
    if (!by.durable) await specs.remove(old.data.name);
    if (old.journalKey !== undefined && old.journalKey !== by.journalKey) await dropAgentJournal(host, old.journalKey, old.data.name);
  } catch (err) {
    host.logger.warn({ err, agent: old.data.name }, 'could not discard the stored state of a replaced agent');
  }
}
