import { describe, expect, it } from 'vitest';
import { FinishOrder } from '../../storage/finish-order.js';

describe('FinishOrder (the retention order kept in memory)', () => {
  it('gives back the oldest finishes by time then id, also when one is noted out of order', () => {
    const o = new FinishOrder();
    o.add(10, 'task_b', undefined);
    o.add(12, 'task_d', 'kd');
    o.add(10, 'task_a', 'ka');
    o.add(11, 'task_c', undefined);
    expect(o.size).toBe(4);
    expect(o.take(3)).toEqual([{ id: 'task_a', key: 'ka' }, { id: 'task_b', key: undefined }, { id: 'task_c', key: undefined }]);
    expect(o.size).toBe(1);
    o.add(5, 'task_e', undefined); // an earlier time than what is left goes first
    expect(o.take(5)).toEqual([{ id: 'task_e', key: undefined }, { id: 'task_d', key: 'kd' }]);
    expect(o.size).toBe(0);
    expect(o.take(1)).toEqual([]);
  });

  it('keeps its order across the compaction of taken entries', () => {
    const o = new FinishOrder();
    const ids = Array.from({ length: 5_000 }, (_, i) => `task_${String(i).padStart(5, '0')}`);
    for (let i = 0; i < ids.length; i++) o.add(i, ids[i]!, undefined);
    const taken: string[] = [];
    while (o.size > 0) {
      taken.push(...o.take(700).map((v) => v.id));
      if (taken.length === 2_100) o.add(4_999.5, 'task_late', 'kl');
    }
    expect(taken).toEqual([...ids, 'task_late'].sort((a, b) => (a === 'task_late' ? 4_999.5 : Number(a.slice(5))) - (b === 'task_late' ? 4_999.5 : Number(b.slice(5)))));
  });
});
