import { describe, expect, it } from 'vitest';
import { applyPiiPolicy, applyPiiPolicyToValue, detectPii, ibanValid, luhn, ssnValid } from '../../actors/pii/index.js';

const kindsOf = (text: string): string[] => detectPii(text).map((f) => `${f.kind}:${text.slice(f.start, f.end)}`);

describe('the PII detector', () => {
  it('finds emails, phones, cards, IBANs, SSNs, IP addresses and credentials', () => {
    const text = [
      'mail ada.lovelace+ai@example.co.uk or call +1 415 555 2671 / (020) 7946-0958,',
      'card 4111 1111 1111 1111, iban GB82 WEST 1234 5698 7654 32, ssn 123-45-6789,',
      'from 192.168.10.4 and 2001:db8::8a2e:370:7334,',
      'keys sk-proj-abcdefghijklmnopqrstuvwx ghp_0123456789abcdefghijABCDEFGHIJklmnop AKIAIOSFODNN7EXAMPLE',
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl',
    ].join(' ');
    expect(kindsOf(text)).toEqual([
      'email:ada.lovelace+ai@example.co.uk',
      'phone:+1 415 555 2671',
      'phone:(020) 7946-0958',
      'card:4111 1111 1111 1111',
      'iban:GB82 WEST 1234 5698 7654 32',
      'national_id:123-45-6789',
      'ip_address:192.168.10.4',
      'ip_address:2001:db8::8a2e:370:7334',
      'credential:sk-proj-abcdefghijklmnopqrstuvwx',
      'credential:ghp_0123456789abcdefghijABCDEFGHIJklmnop',
      'credential:AKIAIOSFODNN7EXAMPLE',
      'credential:eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl',
    ]);
  });

  it('leaves numbers that fail their checks alone: a non-Luhn card, a bad IBAN, an invalid SSN, dates and times', () => {
    const text = 'order 4111 1111 1111 1112, ref GB82 WEST 1234 5698 7654 33, id 000-12-3456';
    // what is left may still read as a phone number, never as what its check refused
    expect(detectPii(text).filter((f) => f.kind !== 'phone')).toEqual([]);
    expect(kindsOf('on 2026-12-03 at 10:30:00, year 2026, version 300.1.2.3, ratio 3:2')).toEqual([]);
  });

  it('checks Luhn, mod-97 and SSN rules', () => {
    expect(luhn('79927398713')).toBe(true);
    expect(luhn('79927398710')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ssnValid('666-12-3456')).toBe(false);
    expect(ssnValid('123-45-6789')).toBe(true);
  });

  it('limits a policy to the kinds it names', () => {
    const out = applyPiiPolicy('ada@example.org 4111111111111111', { action: 'REDACT', kinds: ['card'] });
    expect(out.text).toBe('ada@example.org [REDACTED:card]');
  });

  it('refuses a text over the scan limit with a coded error, and ALLOW never scans', () => {
    expect(() => applyPiiPolicy('x'.repeat(2_000), { action: 'WARN' }, 1_000)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_PII_TEXT_TOO_LARGE' }));
    expect(applyPiiPolicy('x'.repeat(2_000), { action: 'ALLOW' }, 1_000).decision).toBe('ALLOW');
  });

  it('applies a policy to every string of a structured context, with one decision and the paths of what it found', () => {
    const ctx = { user: { email: 'ada@example.org', age: 36 }, notes: ['fine', 'card 4111 1111 1111 1111'], ok: true };
    const red = applyPiiPolicyToValue(ctx, { action: 'REDACT' });
    expect(red.decision).toBe('REDACT');
    expect(red.value).toEqual({ user: { email: '[REDACTED:email]', age: 36 }, notes: ['fine', 'card [REDACTED:card]'], ok: true });
    expect(red.findings.map((f) => `${f.path}:${f.kind}`)).toEqual(['$.user.email:email', '$.notes[1]:card']);
    expect(applyPiiPolicyToValue(ctx, { action: 'BLOCK' })).toMatchObject({ decision: 'BLOCK', value: undefined });
    expect(applyPiiPolicyToValue(ctx, { action: 'WARN' })).toMatchObject({ decision: 'WARN', value: ctx });
    expect(applyPiiPolicyToValue({ a: 'nothing here' }, { action: 'BLOCK' })).toMatchObject({ decision: 'ALLOW', value: { a: 'nothing here' } });
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => applyPiiPolicyToValue(deep, { action: 'WARN' })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_PII_TEXT_TOO_LARGE' }));
  });
});
