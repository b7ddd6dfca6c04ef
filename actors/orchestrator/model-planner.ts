import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, type ChatMessage } from '../../protocol/index.js';
import type { ModelProvider } from '../agent/index.js';
import { DAG_LIMITS, dagSchema, type Dag } from './dag.js';
import { validateDag } from './graph.js';
import type { PlanRequest, Planner } from './planner.js';

/** The plan's JSON schema, as the model's structured output format. */
const PLAN_SCHEMA = (() => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(dagSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
})();

const INSTRUCTIONS = [
  'You plan multi-agent workflows. Answer with one JSON object: a DAG of agent runs.',
  'nodes: [{ id, agent, instruction, inputs? (ids of upstream nodes whose outputs it needs; each needs an edge), condition?, approval? }];',
  'edges: [{ from, to }] (from runs before to); parallel_groups: lists of independent node ids; output: the node whose output answers the request.',
  `Use only the agents listed. At most ${DAG_LIMITS.maxNodes} nodes; no cycles; every node must lead to the output node.`,
].join('\n');

/** What a model planner is built with. */
export interface ModelPlannerOptions {
  /** The provider to plan with (a function: the agents module may start later). */
  provider: () => ModelProvider;
  /** Model id (default: the provider's default model). */
  model?: string;
  temperature?: number;
  /** Plans asked for at most: the first, then corrections with the problems found (default 3). */
  maxAttempts?: number;
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * A planner backed by a model with structured output (the DAG's JSON schema as the response
 * format). Each plan goes through {@link validateDag}; an invalid one is sent back to the model
 * with its problems, up to `maxAttempts` plans in all, after which the request fails with
 * TROUPE_ERR_PLAN_INVALID listing the last problems.
 *
 * @example
 * const planner = new ModelPlanner({ provider: () => registry.provider, temperature: 0 });
 */
export class ModelPlanner implements Planner {
  constructor(private readonly o: ModelPlannerOptions) {}

  async plan(req: PlanRequest): Promise<Dag> {
    if (req.agents.length === 0) throw new TroupeError('TROUPE_ERR_PLAN_NO_AGENTS', 'no agents are available to plan a workflow with');
    const provider = this.o.provider();
    const known = new Set(req.agents.map((a) => a.name));
    const cards = req.agents.map((a) => ({ name: a.name, description: a.description ?? '', skills: a.skills.map((s) => ({ id: s.id, name: s.name, description: s.description ?? '', tags: s.tags ?? [] })) }));
    const messages: ChatMessage[] = [
      { role: 'system', content: `${INSTRUCTIONS}\nAgents:\n${JSON.stringify(cards).slice(0, 50_000)}` },
      { role: 'user', content: req.request.slice(0, 20_000) },
    ];
    const attempts = this.o.maxAttempts ?? 3;
    let problems: string[] = [];
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const r = await provider.complete({
        model: this.o.model ?? provider.defaultModel,
        messages,
        ...(this.o.temperature !== undefined ? { temperature: this.o.temperature } : {}),
        responseFormat: { type: 'json_schema', json_schema: { name: 'workflow_plan', schema: PLAN_SCHEMA, strict: false } },
      }, this.o.timeoutMs !== undefined ? { timeoutMs: this.o.timeoutMs } : {});
      const text = r.content ?? '';
      try {
        return validateDag(JSON.parse(text), known);
      } catch (e) {
        if (e instanceof SyntaxError) problems = [`the answer is not JSON: ${e.message.slice(0, 200)}`];
        else if (e instanceof TroupeError && e.code === 'TROUPE_ERR_PLAN_INVALID') problems = (e.details?.['problems'] as string[] | undefined) ?? [e.message];
        else throw e;
      }
      this.o.logger?.warn({ attempt, problems: problems.slice(0, 10) }, 'the planning model made an invalid plan; asking for a correction');
      messages.push({ role: 'assistant', content: text.slice(0, 100_000) });
      messages.push({ role: 'user', content: `That plan is invalid:\n- ${problems.join('\n- ')}\nAnswer with a corrected plan.` });
    }
    throw new TroupeError('TROUPE_ERR_PLAN_INVALID', `the planning model made no valid plan in ${attempts} attempts: ${problems.slice(0, 5).join('; ')}`, { details: { problems, attempts } });
  }
}
