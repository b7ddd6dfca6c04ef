import { TroupeError } from '../../protocol/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { AgentDirectory } from './directory.js';
import { stoppedError } from './info.js';
import type { AgentHost } from './registry-types.js';
import { AGENT_NAME_RE } from './spec.js';

/** Path of an agent's actor on whichever node runs it. */
export const agentActorPath = (name: string): string => `user/agents/${name}/agent`;

/**
 * The live actor of an agent this node does not have, anywhere in the cluster: rejects with
 * TROUPE_ERR_AGENT_STOPPED when a node lists it stopped, else TROUPE_ERR_AGENT_NOT_FOUND.
 *
 * @example const ref = await targetElsewhere(host, directory, 'assistant');
 */
export async function targetElsewhere(host: Pick<AgentHost, 'locate'>, directory: AgentDirectory, name: string): Promise<ActorRef> {
  if (!AGENT_NAME_RE.test(name)) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name.slice(0, 80)}`);
  const ref = await host.locate(agentActorPath(name));
  if (ref) return ref;
  // not live anywhere: a node that still lists it has it stopped
  const known = await directory.getAnywhere(name);
  if (known && known.status === 'stopped') throw stoppedError(name, undefined, known.node);
  throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name} in the cluster`);
}
