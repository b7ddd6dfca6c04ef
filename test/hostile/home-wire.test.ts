import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../index.js';
import { fromWireError } from '../../actors/a2a/home/index.js';

describe('hostile: error codes a peer sends back over the home link', () => {
  it('a code named after an Object.prototype member is no troupe code: a plain error, never a TroupeError without a status', () => {
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const e = fromWireError({ name: 'TroupeError', message: 'forged', code });
      expect(e, code).not.toBeInstanceOf(TroupeError);
      expect(e.message).toBe('forged');
    }
    // a class name that is an Object.prototype member is no SDK error class either
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const e = fromWireError({ name, message: 'forged' });
      expect(e, name).toBeInstanceOf(Error);
      expect(e.message).toBe('forged');
    }
    // a real code still comes back as itself, with its status
    expect(fromWireError({ name: 'TroupeError', message: 'x', code: 'TROUPE_ERR_A2A_AGENT_NOT_FOUND' })).toMatchObject({ code: 'TROUPE_ERR_A2A_AGENT_NOT_FOUND', status: 404 });
  });
});
