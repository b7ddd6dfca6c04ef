import type { Cell } from './cell.js';

/** One node of the supervision tree as `actors()` reports it. */
export interface ActorTreeNode {
  path: string;
  address: string;
  status: string;
  incarnation: number;
  mailbox: number;
  restart: string;
  strategy?: string;
  children: ActorTreeNode[];
}

/** The tree under `c`, as a plain snapshot. */
export function actorTree(c: Cell): ActorTreeNode {
  return {
    path: c.path,
    address: c.ref.address,
    status: c.status,
    incarnation: c.incarnation,
    mailbox: c.mailbox.size,
    restart: c.spec.restart,
    ...(c.hasChildren || c.spec.supervises ? { strategy: c.spec.policy.strategy } : {}),
    children: c.hasChildren ? [...c.children.values()].map(actorTree) : [],
  };
}
