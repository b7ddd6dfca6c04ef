/**
 * The module contract: a node is the kernel plus the modules it was started with. A module
 * has a name, starts with the node's narrow host, closes in the node's shutdown phases, and
 * may contribute HTTP routes, inspection subscribers, CLI subcommands and MCP tools.
 */
export type { NodeModule, ModuleInstance, ModuleHost, RouteTable, McpToolDescriptor, CliCommand } from './module.js';
export { ModuleSet, checkModules } from './module-set.js';
export { parseCommandArgs, type CliArgs } from './cli-args.js';
export { CounterSeries, GaugeSeries, HistogramSeries, CounterChild, GaugeChild, HistogramChild } from './series.js';
