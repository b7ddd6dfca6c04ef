import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../storage/index.js';

describe('SecretBox (secrets sealed at rest)', () => {
  const box = new SecretBox('a-data-key-of-some-length');

  it('opens what it sealed, for the same context only; every seal differs', () => {
    const a = box.seal({ apiKey: 'sk-1' }, 'agent:a');
    const b = box.seal({ apiKey: 'sk-1' }, 'agent:a');
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(false);
    expect(box.open(a, 'agent:a')).toEqual({ apiKey: 'sk-1' });
    expect(() => box.open(a, 'agent:b')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_STORAGE_SECRET' }));
  });

  it('refuses another key and changed bytes', () => {
    const sealed = box.seal('secret', 'x');
    expect(() => new SecretBox('another-data-key-entirely').open(sealed, 'x')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_STORAGE_SECRET' }));
    const data = Uint8Array.from(sealed.data);
    data[0] = data[0]! ^ 1;
    expect(() => box.open({ ...sealed, data }, 'x')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_STORAGE_SECRET' }));
  });

  it('refuses a short data key', () => {
    expect(() => new SecretBox('short')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
  });
});
