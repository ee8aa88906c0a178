import { describe, expect, it } from 'vitest';
import { parseArgs, usage, UsageError, type FlagSpec } from './args';
import { asciiField, classify } from './receptive';

const spec = {
  model: { type: 'string', required: true, help: 'folder' },
  count: { type: 'int', min: 1, max: 100, help: 'n' },
  temperature: { type: 'number', positive: true, help: 't' },
  shift: { type: 'number', help: 's' },
  mode: { type: 'enum', values: ['cached', 'naive'] as const, help: 'm' },
  pixel: { type: 'ints', count: 2, min: 0, help: 'r,c' },
  json: { type: 'bool', help: 'j' },
} satisfies FlagSpec;

const fails = (argv: string[], re: RegExp) => {
  let err: unknown;
  try {
    parseArgs(argv, spec);
  } catch (e) {
    err = e;
  }
  expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).not.toContain('\n');
};

describe('parseArgs', () => {
  it('parses every flag type, both --flag value and --flag=value', () => {
    const a = parseArgs(['--model', 'm', '--count=3', '--temperature', '0.5', '--shift', '-2', '--mode', 'naive', '--pixel', '4,5', '--json'], spec);
    expect(a).toEqual({ model: 'm', count: 3, temperature: 0.5, shift: -2, mode: 'naive', pixel: [4, 5], json: true });
    expect(parseArgs(['--model', 'm', '--json=false'], spec).json).toBe(false);
    expect(parseArgs(['--help'], spec).help).toBe(true); // --help skips the required check
  });

  it('gives one-line errors for unknown, repeated, missing and bad values', () => {
    fails(['--model', 'm', '--cuont', '3'], /unknown flag --cuont \(known: --model --count/);
    fails(['--model', 'm', 'extra'], /unexpected argument "extra"/);
    fails(['--model', 'm', '--count', '2', '--count', '3'], /--count given twice/);
    fails(['--model'], /--model: missing value/);
    fails(['--model', '--json'], /--model: missing value/);
    fails(['--count', '3'], /--model is required/);
    fails(['--model', 'm', '--count', '2.5'], /--count: expected an integer, got "2.5"/);
    fails(['--model', 'm', '--count', '0'], /--count: expected an integer >= 1, got 0/);
    fails(['--model', 'm', '--count', '101'], /<= 100/);
    fails(['--model', 'm', '--temperature', '0'], /--temperature: expected a number > 0/);
    fails(['--model', 'm', '--temperature', 'hot'], /--temperature: expected a number, got "hot"/);
    fails(['--model', 'm', '--mode', 'fast'], /--mode: expected one of cached\|naive, got "fast"/);
    fails(['--model', 'm', '--pixel', '4'], /--pixel: expected 2 comma-separated integers/);
    fails(['--model', 'm', '--pixel', '4,-1'], /--pixel: expected an integer >= 0/);
    fails(['--model', 'm', '--json=yes'], /--json: is a switch/);
    fails(['--model', 'm', '-x'], /^unexpected argument "-x" \(flags look like --name value\)$/);
    fails(['--model', 'm', '-jx'], /^unexpected argument "-jx"/);
    fails(['--model', 'm', '--', '--json'], /^unexpected argument "--"/);
    fails(['--model='], /^--model: expected a value$/);
    fails(['--model', 'm', '--shift'], /^--shift: missing value$/);
    fails(['--model', 'm', '--constructor', '1'], /^unknown flag --constructor/);
  });

  it('takes values that look like short flags or negative numbers, and -h for help', () => {
    expect(parseArgs(['--model', '-', '--shift', '-2.5', '--count=7'], spec)).toEqual({ model: '-', shift: -2.5, count: 7 });
    expect(parseArgs(['--model=--x'], spec).model).toBe('--x'); // given with =, any text is a value
    expect(parseArgs(['-h'], spec)).toEqual({ help: true });
    expect(parseArgs(['--model', 'm', '--help'], spec)).toEqual({ model: 'm', help: true });
  });

  it('lists every flag in the usage text', () => {
    const text = usage('sample', '--model DIR', spec);
    for (const k of Object.keys(spec)) expect(text).toContain(`--${k}`);
  });
});

describe('receptive field picture', () => {
  // 4x5 field of output pixel (2, 2): a hand-made masked-style field with a hole above-right
  const field = [
    [0, 0, 0, 0, 0],
    [1, 2, 3, 0, 0],
    [4, 5, 9, 9, 9], // (2,2) is the pixel; (2,3), (2,4) are future and must be ignored here
    [0, 0, 0, 0, 0],
  ];
  field[1][3] = 0;
  it('classifies reached, blind-spot, out-of-reach and future pixels', () => {
    const s = classify(field, 2, 2);
    expect(s.reached).toBe(5);
    // inside the bounding box of reached past pixels (rows 1..2, cols 0..2): nothing missing
    expect(s.blindSpot).toBe(0);
    expect(s.futureInfluence).toBe(27);
    const hole = field.map((r) => r.slice());
    hole[1][1] = 0;
    expect(classify(hole, 2, 2).blindSpot).toBe(1);
    expect(classify(hole, 2, 2).kind[1][1]).toBe('blind');
    expect(classify(hole, 2, 2).kind[0][0]).toBe('out');
  });

  it('draws X for the pixel, o for the blind spot, shades for influence', () => {
    const hole = field.map((r) => r.slice());
    hole[1][1] = 0;
    const lines = asciiField(hole, 2, 2).split('\n');
    // log10(v / 5) over 4 decades into 8 shades: 4, 5 and 3 -> '@', 1 -> '%'
    expect(lines[2]).toBe('@ @ X    ');
    expect(lines[1].split(' ')).toEqual(['%', 'o', '@', '.', '.']); // right of the field's reach: out
    expect(lines[0]).toBe('. . . . .');
  });
});
