// The flag parser shared by the commands: `--name value`, `--name=value`, boolean
// `--flag`, split by Node's util.parseArgs. Anything unexpected is a UsageError with a
// one-line message.
import { parseArgs as nodeParseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A comma-separated list of integers >= min (e.g. --dilations 2,4,8), or a UsageError naming the flag. */
export function parseIntList(flag: string, text: string, min: number): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const out = parts.map((s) => Number(s));
  if (parts.some((s) => s === '') || out.some((d) => !Number.isInteger(d) || d < min)) {
    throw new UsageError(`--${flag}: expected comma-separated integers >= ${min}, got ${JSON.stringify(text)}`);
  }
  return out;
}

interface Common {
  help: string;
  required?: boolean;
}
export type Flag = Common &
  (
    | { type: 'string' }
    | { type: 'bool' }
    | { type: 'int'; min?: number; max?: number }
    | { type: 'number'; min?: number; max?: number; positive?: boolean }
    | { type: 'enum'; values: readonly string[] }
    /** comma-separated integers, e.g. --pixel 3,4 */
    | { type: 'ints'; count: number; min?: number }
  );

export type FlagSpec = Record<string, Flag>;

type ValueOf<F extends Flag> = F extends { type: 'int' | 'number' }
  ? number
  : F extends { type: 'bool' }
    ? boolean
    : F extends { type: 'ints' }
      ? number[]
      : F extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

export type Args<S extends FlagSpec> = { [K in keyof S]?: ValueOf<S[K]> };

function parseInt10(flag: string, text: string, min?: number, max?: number): number {
  if (!/^[-+]?\d+$/.test(text.trim())) throw new UsageError(`--${flag}: expected an integer, got ${JSON.stringify(text)}`);
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw new UsageError(`--${flag}: ${text} is out of range`);
  if (min !== undefined && v < min) throw new UsageError(`--${flag}: expected an integer >= ${min}, got ${v}`);
  if (max !== undefined && v > max) throw new UsageError(`--${flag}: expected an integer <= ${max}, got ${v}`);
  return v;
}

function convert(flag: string, f: Flag, text: string): unknown {
  switch (f.type) {
    case 'string':
      if (text.length === 0) throw new UsageError(`--${flag}: expected a value`);
      return text;
    case 'int':
      return parseInt10(flag, text, f.min, f.max);
    case 'number': {
      const v = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(v)) throw new UsageError(`--${flag}: expected a number, got ${JSON.stringify(text)}`);
      if (f.positive && v <= 0) throw new UsageError(`--${flag}: expected a number > 0, got ${v}`);
      if (f.min !== undefined && v < f.min) throw new UsageError(`--${flag}: expected a number >= ${f.min}, got ${v}`);
      if (f.max !== undefined && v > f.max) throw new UsageError(`--${flag}: expected a number <= ${f.max}, got ${v}`);
      return v;
    }
    case 'enum':
      if (!f.values.includes(text)) throw new UsageError(`--${flag}: expected one of ${f.values.join('|')}, got ${JSON.stringify(text)}`);
      return text;
    case 'ints': {
      const parts = text.split(',');
      if (parts.length !== f.count) {
        throw new UsageError(`--${flag}: expected ${f.count} comma-separated integers, got ${JSON.stringify(text)}`);
      }
      return parts.map((p) => parseInt10(flag, p, f.min));
    }
    case 'bool':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new UsageError(`--${flag}: is a switch; write --${flag} or --${flag}=false`);
  }
}

/**
 * Parses argv (without the command name) against spec. --help (or -h) is reported as
 * {help: true}. Node's util.parseArgs splits argv into tokens (`--name value`,
 * `--name=value`, switches); it runs non-strict so that every mistake is reported here, in
 * one line naming the flag, and values are typed and range-checked by `convert`.
 */
export function parseArgs<S extends FlagSpec>(argv: string[], spec: S): Args<S> & { help?: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, f] of Object.entries(spec)) options[name] = { type: f.type === 'bool' ? 'boolean' : 'string' };
  const { tokens } = nodeParseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const out: Record<string, unknown> = {};
  for (const t of tokens) {
    if (t.kind !== 'option' || (!t.rawName.startsWith('--') && t.rawName !== '-h')) {
      throw new UsageError(`unexpected argument ${JSON.stringify(argv[t.index])} (flags look like --name value)`);
    }
    const name = t.name;
    if (name === 'help' && !Object.hasOwn(spec, name)) {
      out.help = true;
      continue;
    }
    const f = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!f) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(' ');
      throw new UsageError(`unknown flag --${name} (known: ${known})`);
    }
    if (name in out) throw new UsageError(`--${name} given twice`);
    let text: string;
    if (f.type === 'bool') text = t.inlineValue ? t.value! : 'true';
    else {
      // a flag where the value should be (--model --json) means the value was left out
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--') && t.value.length > 2)) {
        throw new UsageError(`--${name}: missing value`);
      }
      text = t.value;
    }
    out[name] = convert(name, f, text);
  }
  if (!out.help) {
    for (const [name, f] of Object.entries(spec)) {
      if (f.required && !(name in out)) throw new UsageError(`--${name} is required (${f.help})`);
    }
  }
  return out as Args<S> & { help?: boolean };
}

/** Help text: one line per flag. */
export function usage(command: string, synopsis: string, spec: FlagSpec): string {
  const lines = [`usage: npm run ${command} -- ${synopsis}`, ''];
  const width = Math.max(...Object.keys(spec).map((k) => k.length)) + 2;
  for (const [name, f] of Object.entries(spec)) {
    const kind = f.type === 'enum' ? f.values.join('|') : f.type === 'bool' ? '' : f.type === 'ints' ? `${'N,'.repeat(f.count - 1)}N` : f.type.toUpperCase();
    lines.push(`  --${name.padEnd(width)}${kind.padEnd(16)}${f.help}${f.required ? ' (required)' : ''}`);
  }
  return lines.join('\n');
}
