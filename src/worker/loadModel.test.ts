import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { makeConfig, type ModelConfig } from '../model';
import { RANDOM_PRESETS } from './loadModel';

describe('random presets', () => {
  it('random-faces has the shape of the shipped face model', () => {
    const shipped = JSON.parse(fs.readFileSync(path.join(__dirname, '../../models/faces/model.json'), 'utf8')).config as ModelConfig;
    // dropout is how it was trained, not its shape
    const { conditioning, ...rest } = shipped;
    const { dropout: _dropout, ...cond } = conditioning as ModelConfig['conditioning'] & { dropout?: number };
    expect(RANDOM_PRESETS['random-faces']()).toEqual(makeConfig({ ...rest, conditioning: cond }));
  });

  it('every preset is a valid config, and the face presets read a 128-d vector in colour', () => {
    for (const name of Object.keys(RANDOM_PRESETS)) expect(() => RANDOM_PRESETS[name](), name).not.toThrow();
    for (const name of ['random-faces', 'random-faces-tiny']) {
      const c = RANDOM_PRESETS[name]();
      expect(c.channels).toBe(3);
      expect(c.conditioning).toMatchObject({ type: 'vector', dim: 128, nullable: true });
    }
  });
});
