import { TroupeError, parseOrThrow } from '../../protocol/index.js';
import { DIRECTORY_PATH, DirectoryCommand, type AgentInfo, type AgentRegistry, type ModelProvider } from '../agent/index.js';
import { modelClassifier } from './model-classifier.js';
import { ModelPlanner } from './model-planner.js';
import type { GatewayActor } from '../gateway/index.js';
import { AUDIT_MODULE, type AuditApi, type AuditRecordInput } from '../audit/index.js';
import type { ModuleHost, NodeModule } from '../modules/index.js';
import { orchestratorOptionsSchema, type OrchestratorOptionsInput } from './options.js';
import { Orchestrator } from './orchestrator.js';
import { OfflinePlanner, type AgentCard, type Planner } from './planner.js';
import type { Classifier } from './router.js';
import { orchestratorRoutes } from './routes.js';
import { orchestratorMcpTools } from './mcp-tools.js';
import { GatewayNodeRunner, type NodeRunner } from './runner.js';
import { A2ANodeRunner } from './a2a-runner.js';
import { WorkflowTasks } from './a2a-view.js';
import { A2A_MODULE, type A2AApi } from '../a2a/index.js';
import { LmdbSessionIndex, MemorySessionIndex } from './session-index.js';

/** The orchestrator module's name: `host.module<Orchestrator>(ORCHESTRATOR_MODULE)`. */
export const ORCHESTRATOR_MODULE = 'orchestrator';

/** What the orchestrator module starts with: its options, and the parts that can be replaced. */
export type OrchestratorModuleOptions = Omit<OrchestratorOptionsInput, 'planner' | 'classifier'> & {
  /** Runs workflow nodes (default: agent runs through the gateway actor). */
  runner?: NodeRunner;
  /** A planner of your own, or the mode of the built-in ones (`auto`, `model`, `offline`; see the options). */
  planner?: Planner | OrchestratorOptionsInput['planner'];
  /** A classifier of your own, or the mode of the built-in ones (`auto`, `model`, `heuristic`). */
  classifier?: Classifier | OrchestratorOptionsInput['classifier'];
  /** The agents plans may use (default: the cluster's agents, from the agents directory). */
  catalog?: () => Promise<AgentCard[]>;
};

/**
 * Orchestration as a node module: workflows (DAGs of agent runs) as persistent session
 * actors, their approvals, and the `/v1/sessions` and `/v1/approvals` routes.
 *
 * @example
 * const node = await startNode({ modules: [...defaultModules(), orchestratorModule({ ttlMs: 86_400_000 })] });
 */
export function orchestratorModule(input: OrchestratorModuleOptions = {}): NodeModule<Orchestrator> {
  const { runner, planner: plannerIn, classifier: classifierIn, catalog, ...rest } = input;
  const planner = typeof plannerIn === 'object' ? plannerIn : undefined;
  const classifier = typeof classifierIn === 'function' ? classifierIn : undefined;
  const options = Object.freeze(parseOrThrow(orchestratorOptionsSchema, {
    ...rest,
    ...(typeof plannerIn === 'string' ? { planner: plannerIn } : {}),
    ...(typeof classifierIn === 'string' ? { classifier: classifierIn } : {}),
  }, 'TROUPE_ERR_CONFIG_INVALID', 'invalid orchestrator options'));
  return {
    name: ORCHESTRATOR_MODULE,
    requires: ['gateway'],
    start: async (host) => {
      const gateway = (): GatewayActor => host.module<GatewayActor>('gateway');
      const directoryCatalog = async (): Promise<AgentCard[]> => {
        const c = await gateway().request<{ agents: AgentInfo[] }>({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand({ op: 'catalog' }));
        return c.agents.filter((a) => a.status === 'running').map((a) => ({ name: a.name, description: a.description, skills: a.skills, ...(a.approval !== undefined ? { approval: a.approval } : {}) }));
      };
      // the agents' upstream, when the node has the agents module and a real (not offline) model
      const upstream = host.hasModule('agents') && !host.module<AgentRegistry>('agents').provider.offline ? () => host.module<AgentRegistry>('agents').provider : undefined;
      const log = host.logger.child({ module: 'orchestrator' });
      const useModel = (mode: string): boolean => mode === 'model' || (mode === 'auto' && upstream !== undefined);
      const provider = (): ModelProvider => {
        if (!upstream) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'the orchestrator planner or classifier is set to model, but the node has no agents module with an upstream model');
        return upstream();
      };
      const orchestrator = new Orchestrator(host, options, {
        runner: runner ? () => runner : defaultRunner(host, options.nodeRunner, gateway),
        planner: planner ?? (useModel(options.planner)
          ? new ModelPlanner({ provider, temperature: options.plannerTemperature, maxAttempts: options.plannerAttempts, logger: log, ...(options.plannerModel ? { model: options.plannerModel } : {}) })
          : new OfflinePlanner()),
        ...(classifier ? { classifier } : useModel(options.classifier) ? { classifier: modelClassifier({ provider, temperature: options.classifierTemperature, logger: log, ...(options.classifierModel ? { model: options.classifierModel } : {}) }) } : {}),
        catalog: catalog ?? directoryCatalog,
        index: host.store ? new LmdbSessionIndex(host.store) : new MemorySessionIndex(),
        ...(host.hasModule(AUDIT_MODULE) ? { audit: (r: AuditRecordInput) => host.module<AuditApi>(AUDIT_MODULE).record(r) } : {}),
      });
      orchestrator.startSweeps();
      await orchestrator.restore();
      // the node's own A2A agent (POST /a2a) runs complex tasks as workflows
      const a2a = options.a2aWorkflows && host.hasModule(A2A_MODULE) ? host.module<A2AApi>(A2A_MODULE) : undefined;
      let workflows: WorkflowTasks | undefined;
      if (a2a) {
        workflows = new WorkflowTasks(orchestrator, () => host.module<A2AApi>(A2A_MODULE), host.clock, log);
        a2a.useWorkflows(workflows);
        // not awaited: the node need not wait for it to serve
        void workflows.rearm().catch((e: unknown) => log.warn({ err: e }, 'could not take up the A2A workflow tasks that wait for a decision'));
      }
      return {
        api: orchestrator,
        // before the a2a module drains: the workflow tasks that follow a session say they were interrupted
        drain: () => {
          workflows?.stop();
          a2a?.useWorkflows(undefined);
        },
        routes: (table) => orchestratorRoutes(table, orchestrator),
        mcpTools: orchestratorMcpTools(orchestrator),
        metrics: () => orchestrator.router.registry.metrics(),
      };
    },
  };
}

/** The runner of workflow nodes: A2A tasks through the a2a module (`auto` when the node runs it), else agent runs. */
function defaultRunner(host: ModuleHost, mode: 'auto' | 'a2a' | 'gateway', gateway: () => GatewayActor): () => NodeRunner {
  if (mode === 'a2a' && !host.hasModule(A2A_MODULE)) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'orchestrator nodeRunner is a2a, but the node runs no a2a module');
  const r: NodeRunner = mode === 'gateway' || !host.hasModule(A2A_MODULE) ? new GatewayNodeRunner(gateway) : new A2ANodeRunner(() => host.module<A2AApi>(A2A_MODULE));
  return () => r;
}
