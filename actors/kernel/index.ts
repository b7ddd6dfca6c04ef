/**
 * The actor kernel's public face: every importer outside actors/kernel/ imports only this.
 *
 * Layout (one concept per file): kernel.ts (the Kernel class), options.ts, spec.ts (spec
 * validation at spawn), behaviour.ts (Behaviour, Context, Timers and the other public types),
 * context.ts, cell.ts (intake and the turn loop), incarnation.ts (start, suspend, restart,
 * terminate), supervision.ts (carrying out supervisors/ plans), mailbox.ts, dispatcher.ts
 * (the Dispatcher interface and its nact implementation), system-message.ts, persistence.ts,
 * timers.ts, pipe-to-self.ts, asks.ts, refs.ts, ref.ts, remote.ts, watch.ts, dead-letters.ts,
 * inspection.ts, tree.ts, shutdown.ts, meta.ts, host.ts, activation.ts (activators: passivated
 * actors spawned again by their first message).
 */
export { Kernel } from './kernel.js';
export { kernelOptionsSchema, defaultLogger, defaultNodeId } from './options.js';
export type { KernelOptions, KernelOptionsInput, KernelStorage } from './options.js';
export { ActorRef } from './ref.js';
export { behaviour } from './behaviour.js';
export { instancesOr, type InstanceClass } from './instances.js';
export type { ActorSpec, AskOptions, Behaviour, Context, PersistenceSpec, Receive, TellOptions, Timers } from './behaviour.js';
export { actorSpecSchema, persistenceSpecSchema, resolveSpec, type ResolvedSpec } from './spec.js';
export { EventBus, Inspector } from './inspection.js';
export type { InspectionEvent, InspectionListener } from './inspection.js';
export type { ActorJournal } from './persistence.js';
export type { ReplyChannel } from './meta.js';
export type { RemoteRouter } from './remote.js';
export type { DeadLetterApi } from './dead-letters.js';
export type { ActorTreeNode } from './tree.js';
export type { Activator } from './activation.js';
export { NactDispatcher, type Dispatcher, type TurnSlot } from './dispatcher.js';
export { MAX_TIMERS_PER_ACTOR, MAX_TIMER_DELAY_MS } from './timers.js';
export { runPhases, Once, type Phase } from './shutdown.js';
export { kernelFaults, networkFaults, registerNetworkFaults, type KernelFaults, type NetworkFaults } from './faults.js';
