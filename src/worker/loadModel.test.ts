import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { disposeParams, initParams, makeConfig, type ModelConfig } from '../model';
import { initNodeBackend } from '../backend/node';
import { serializeModel } from '../io/weights';
import { RANDOM_PRESETS, loadModel } from './loadModel';
import { filesSpec } from './catalog';
import type { ModelFiles } from './protocol';

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

describe('a model given as files', () => {
  const config = makeConfig({ height: 4, width: 4, levels: 4, hidden: 4, layers: 2, firstKernel: 3, headHidden: 4, conditioning: { type: 'class', classes: 3 } });

  /** The folder the trainer would write, as the page hands it over: file name -> bytes. */
  async function folder(): Promise<ModelFiles> {
    await initNodeBackend('cpu');
    const params = initParams(config, 2);
    const art = await serializeModel({ config, params }, { metadata: { valBitsPerDim: 1.25 } });
    disposeParams(params);
    const files: ModelFiles = { 'model.json': new TextEncoder().encode(JSON.stringify(art.modelJson)).buffer as ArrayBuffer };
    for (const s of art.shards) files[s.path] = s.data;
    return files;
  }

  it('loads through the strict parser, and a malformed, mismatched or incomplete folder is one line naming the problem', async () => {
    const files = await folder();
    const { model, info } = await loadModel(filesSpec('tiny run'), '', files);
    expect(model.config).toEqual(config);
    expect(info).toMatchObject({ source: 'files:tiny run', random: false, valBitsPerDim: 1.25 });
    disposeParams(model.params);
    const before = tf.memory().numTensors;
    const shard = Object.keys(files).find((n) => n.endsWith('.bin'))!;
    const json = JSON.parse(new TextDecoder().decode(files['model.json']));
    const withJson = (j: unknown) => ({ ...files, 'model.json': new TextEncoder().encode(JSON.stringify(j)).buffer as ArrayBuffer });
    const cases: [string, ModelFiles, RegExp][] = [
      ['no model.json', { [shard]: files[shard] }, /^your model "x": no model\.json among the 1 file\(s\) given \(group1-shard1of1\.bin\)/],
      ['not JSON', { ...files, 'model.json': new TextEncoder().encode('{"format": ').buffer as ArrayBuffer }, /^your model "x": model\.json is not valid JSON/],
      ['a shard missing', { 'model.json': files['model.json'] }, /^your model "x": group1-shard1of1\.bin: cannot be read \(not among the files given\)$/],
      ['a shard cut short', { ...files, [shard]: files[shard].slice(0, 100) }, /^your model "x": group1-shard1of1\.bin: truncated/],
      ['another config', withJson({ ...json, config: { ...json.config, hidden: 8 } }), /^your model "x": model\.json: tensor '.*' has shape \[.*\], config expects \[.*\]$/],
      ['another format', withJson({ ...json, format: 'keras' }), /^your model "x": model\.json: format is "keras"/],
    ];
    for (const [name, given, want] of cases) {
      const err = await loadModel(filesSpec('x'), '', given).then(() => null, (e: Error) => e.message);
      expect(err, name).toMatch(want);
      expect(err, name).not.toMatch(/\n/);
    }
    // nothing of a refused folder stays behind
    expect(tf.memory().numTensors).toBe(before);
    await expect(loadModel(filesSpec('x'), '')).rejects.toThrow('files:x: the page sent no files with it');
  });
});
