// Seeded cartoon people: facesjs draws every feature with Math.random, so each call runs
// with Math.random swapped for a generator keyed by (seed, identity, variant). A face
// then depends on those three numbers only, not on which worker draws it or in which
// order, so a resumed or two-worker build gives the same faces.
import { generate, type FaceConfig, type Gender } from 'facesjs';
import { Rng } from '../util/rng';

export type { FaceConfig };

/** What stays with a person: skin and body, head shape, hair (style, colour, flip), eyes, brows' shape, nose, ears, facial hair, face lines. */
export const IDENTITY_FEATURES = [
  'fatness', 'body', 'head', 'hair', 'hairBg', 'eye.id', 'eyebrow.id', 'nose', 'ear', 'facialHair', 'eyeLine', 'smileLine', 'miscLine',
] as const;
/** What a person changes between pictures: mouth, brow and eye angle, glasses, hats and other accessories, shirt (jersey and its colours). */
export const VARIANT_FEATURES = ['mouth', 'eyebrow.angle', 'eye.angle', 'glasses', 'accessories', 'jersey', 'teamColors'] as const;

export interface Person {
  gender: Gender;
  /** the face facesjs drew for the person; its IDENTITY_FEATURES are kept in every variant */
  base: FaceConfig;
}

// Key spaces, so that a person's draw and a variant's draw never share a stream.
const PERSON = 1;
const VARIANT = 2;

/** Runs fn with Math.random drawing from rng (facesjs reads the global). */
export function withRandom<T>(rng: Rng, fn: () => T): T {
  const saved = Math.random;
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = saved;
  }
}

export function personOf(seed: number, identity: number): Person {
  const rng = Rng.fromKeys(seed, PERSON, identity);
  const gender: Gender = rng.next() < 0.5 ? 'male' : 'female';
  const base = withRandom(rng, () => generate(undefined, { gender }));
  return { gender, base };
}

const hex = (rng: Rng) => `#${rng.int(0x1000000).toString(16).padStart(6, '0')}`;

/** Variant v of a person: a fresh facesjs draw of the same gender supplies the VARIANT_FEATURES. */
export function variantOf(seed: number, identity: number, variant: number, person: Person = personOf(seed, identity)): FaceConfig {
  const rng = Rng.fromKeys(seed, VARIANT, identity, variant);
  const fresh = withRandom(rng, () => generate(undefined, { gender: person.gender }));
  const face = structuredClone(person.base);
  face.mouth = fresh.mouth;
  face.eyebrow = { ...face.eyebrow, angle: fresh.eyebrow.angle };
  face.eye = { ...face.eye, angle: fresh.eye.angle };
  face.glasses = fresh.glasses;
  face.accessories = fresh.accessories;
  face.jersey = fresh.jersey;
  face.teamColors = [hex(rng), hex(rng), hex(rng)];
  return face;
}
