import type { z } from 'zod/mini';

// Turns zod issues into the lines tsrun prints: `<jsonPath>: <what was wrong>`.

type RawIssue = z.core.$ZodRawIssue;

/** `a.b[2].c`; keys that are not identifiers are quoted: `annotations["org.x"]`. */
export function toJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function quoted(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Error map for parse(): the message for issues whose schema did not set one. */
export function describeIssue(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required field is missing (expected ${article(issue.expected)})`;
      return `expected ${article(issue.expected)}, got ${typeName(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}, got ${quoted(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array' && Number(issue.minimum) === 1) return 'expected a non-empty array';
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'expected a non-empty string';
      return `expected at least ${issue.minimum}, got ${quoted(issue.input)}`;
    case 'too_big':
      return `expected at most ${issue.maximum}, got ${quoted(issue.input)}`;
    case 'invalid_format':
      return `expected a string matching ${issue.pattern ?? issue.format}, got ${quoted(issue.input)}`;
    default:
      return undefined;
  }
}

export interface IssueLine {
  jsonPath: string;
  message: string;
}

export function issueLines(issues: readonly z.core.$ZodIssue[]): IssueLine[] {
  return issues.map((i) => ({ jsonPath: toJsonPath(i.path), message: i.message }));
}

export function formatLine(line: IssueLine): string {
  return line.jsonPath ? `${line.jsonPath}: ${line.message}` : line.message;
}
