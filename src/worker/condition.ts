// The wire's condition (what the page asks for) -> the sampler's Condition (what the
// model reads), with a one-line error when the two do not fit.
import type { Condition, PixelCNN } from '../model';
import type { WireCondition } from './protocol';

/** The sampler's condition for `count` images from the one the page sent. */
export function samplerCondition(m: PixelCNN, wire: WireCondition, count: number): Condition | undefined {
  const c = m.config.conditioning;
  if (c.type === 'none') return undefined; // an unconditional model ignores any condition
  if (wire.kind === 'none') {
    if (!c.nullable) throw new Error(`this model is ${c.type}-conditional and has no null condition: give it a ${c.type === 'class' ? 'class' : 'vector'}`);
    return { unconditional: [true] };
  }
  if (wire.kind === 'class') {
    if (c.type !== 'class') throw new Error('this model is conditioned on a vector, not a class');
    return { labels: new Array(count).fill(wire.label) };
  }
  if (c.type !== 'vector') throw new Error('this model is conditioned on a class, not a vector');
  if (wire.kind === 'vector') return { embeddings: [Float32Array.from(wire.values)] };
  // one vector per image (a morph strip): the model checks each one's length and values
  if (wire.values.length !== count) throw new Error(`condition: got ${wire.values.length} vectors for ${count} images`);
  return { embeddings: wire.values.map((v) => Float32Array.from(v)) };
}
