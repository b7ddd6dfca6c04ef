import { isIPv4, isIPv6 } from 'node:net';
import type { PiiKind } from '../../protocol/index.js';

/**
 * One detector: a candidate pattern (global, linear: bounded repetitions, no nested
 * quantifiers over the same characters) and a validator that turns candidates into findings
 * (Luhn for cards, mod-97 for IBANs, octet ranges for IPs), so a long number is not a card
 * because it has 16 digits.
 */
export interface Detector {
  readonly kind: PiiKind;
  readonly pattern: RegExp;
  /** Earlier wins when two findings overlap at the same start with the same length. */
  readonly priority: number;
  valid(match: string): boolean;
}

const digitsOf = (s: string): string => s.replace(/\D/g, '');

/**
 * The Luhn check of a card number (ISO/IEC 7812).
 *
 * @example luhn('4111111111111111') // true
 */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * The ISO 13616 check of an IBAN: move the first four characters to the end, letters to
 * numbers (A=10), the remainder mod 97 is 1.
 *
 * @example ibanValid('GB82 WEST 1234 5698 7654 32') // true
 */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const digit of v) rem = (rem * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

/** A US SSN in its dashed form: area not 000, 666 or 9xx; group not 00; serial not 0000. */
export function ssnValid(s: string): boolean {
  const [area, group, serial] = s.split('-');
  return area !== '000' && area !== '666' && !area!.startsWith('9') && group !== '00' && serial !== '0000';
}

/** A phone number: 7 to 15 digits (E.164), and not a date the pattern also fits. */
function phoneValid(s: string): boolean {
  const n = digitsOf(s).length;
  if (n < 7 || n > 15) return false;
  if (/^\d{4}[-./]\d{2}[-./]\d{2}$/.test(s) || /^\d{2}[-./]\d{2}[-./]\d{4}$/.test(s)) return false;
  // a bare run of digits is a number, not a phone, unless it is written as E.164
  return s.startsWith('+') || /[\s().-]/.test(s);
}

const ALWAYS = (): boolean => true;

/**
 * The built-in detectors. Credentials first: a token may hold what looks like an email or a
 * number, and it must go as a whole.
 */
export const DETECTORS: readonly Detector[] = [
  {
    kind: 'credential',
    priority: 0,
    // OpenAI and Anthropic keys, GitHub tokens, AWS access key ids, Slack tokens, Google API keys, JWTs
    pattern: /(?<![A-Za-z0-9_-])(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,200}|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}|(?:AKIA|ASIA)[0-9A-Z]{16}|xox[abposr]-[A-Za-z0-9-]{10,200}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,4096})(?![A-Za-z0-9_-])/g,
    valid: ALWAYS,
  },
  {
    kind: 'email',
    priority: 1,
    pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
    valid: ALWAYS,
  },
  {
    kind: 'iban',
    priority: 2,
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g,
    valid: ibanValid,
  },
  {
    kind: 'card',
    priority: 3,
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    valid: (s) => luhn(digitsOf(s)),
  },
  {
    kind: 'national_id',
    priority: 4,
    pattern: /(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g,
    valid: ssnValid,
  },
  {
    kind: 'ip_address',
    priority: 5,
    pattern: /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])/g,
    valid: (s) => isIPv4(s),
  },
  {
    kind: 'ip_address',
    priority: 5,
    pattern: /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![0-9A-Fa-f:])/g,
    valid: (s) => s.length >= 3 && isIPv6(s) && s !== '::',
  },
  {
    kind: 'phone',
    priority: 6,
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![\w])/g,
    valid: phoneValid,
  },
];
