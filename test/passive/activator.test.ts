import { afterEach, describe, expect, it } from 'vitest';
import { Kernel } from '../../actors/index.js';
import { silent } from '../helpers.js';

const kernels: Kernel[] = [];
afterEach(async () => {
  for (const k of kernels.splice(0)) await k.close();
});

describe('kernel activators', () => {
  it('spawn a passivated actor on its first tell, then deliver every message in order', async () => {
    const k = new Kernel({ id: 'v1', logger: silent });
    kernels.push(k);
    const got: unknown[] = [];
    let activations = 0;
    let live = false;
    k.addActivator('user/virt', {
      addressable: (path) => path === 'user/virt' && !live,
      activate: (path) => {
        if (path !== 'user/virt' || live) return false;
        activations++;
        live = true;
        k.spawn((_s, m, ctx) => {
          got.push(m);
          if (m === 'ask') ctx.reply(got.length);
        }, { name: 'virt' });
        return true;
      },
    });
    expect(k.lookup('user/virt')?.address).toBe('troupe://v1/user/virt');
    for (let i = 0; i < 5; i++) k.tell('user/virt', i);
    expect(await k.ask('user/virt', 'ask')).toBe(6);
    expect(got).toEqual([0, 1, 2, 3, 4, 'ask']);
    expect(activations).toBe(1);

    // stopped again (passivated): the next ask activates a fresh actor
    await k.stop('user/virt');
    live = false;
    expect(await k.ask('user/virt', 'ask')).toBe(7);
    expect(activations).toBe(2);
  });

  it('leave other paths alone: a message to an unknown actor is still a not-found dead letter', async () => {
    const k = new Kernel({ id: 'v0', logger: silent });
    kernels.push(k);
    const spawned: string[] = [];
    const known = new Set(['a']);
    k.addActivator('user/virtual/', {
      addressable: (path) => known.has(path.slice('user/virtual/'.length)),
      activate: (path) => {
        const name = path.slice('user/virtual/'.length);
        if (!known.has(name)) return false;
        spawned.push(name);
        return true;
      },
    });
    expect(k.lookup('user/virtual/a')).toBeDefined();
    await expect(k.ask('user/virtual/zzz', 'x')).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_NOT_FOUND' });
    await expect(k.ask('user/elsewhere', 'x')).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_NOT_FOUND' });
    expect(k.lookup('user/virtual/zzz')).toBeUndefined();
    expect(spawned).toEqual([]);
  });

  it('an activator that throws costs the sender a not-found, not the node', async () => {
    const k = new Kernel({ id: 'v2', logger: silent });
    kernels.push(k);
    k.addActivator('user/', { addressable: () => true, activate: () => { throw new Error('boom'); } });
    await expect(k.ask('user/broken', 'x')).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_NOT_FOUND' });
    expect(() => k.tell('user/broken', 'x')).not.toThrow();
  });

  it('unregistering an activator ends activation under its prefix', async () => {
    const k = new Kernel({ id: 'v3', logger: silent });
    kernels.push(k);
    const off = k.addActivator('user/', { addressable: () => true, activate: () => false });
    expect(k.lookup('user/any')).toBeDefined();
    off();
    expect(k.lookup('user/any')).toBeUndefined();
  });
});
