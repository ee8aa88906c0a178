// The one path from a face descriptor to what a face model draws from (issue 25), shared
// by the app's face panel, `npm run sample --embedding` and `npm run eval-faces`: fitted
// onto the model's anchors with the options the anchors file carries, and said in words
// only as far as it is true (fitted or not, from how many people). Environment-free.
import type { FaceAnchors } from './anchorsFile';
import { fitToData, type Fit } from './manifold';

export interface FittedCondition {
  /** what the model is conditioned on */
  vector: Float32Array;
  fit: Fit;
  /** one line for a user: what was done to the descriptor */
  summary: string;
}

/** `v` fitted onto the anchors with their own options. */
export function fitCondition(anchors: FaceAnchors, v: ArrayLike<number>): FittedCondition {
  const fit = fitToData(anchors, v, anchors.fit);
  return { vector: fit.vector, fit, summary: describeFit(fit, anchors) };
}

/** What was done, in a line: nothing (near the data), a blend, or only the nearest cartoon people. */
export function describeFit(fit: Fit, anchors: Pick<FaceAnchors, 'fit'>): string {
  const k = fit.neighbours.length;
  const people = `the ${k} cartoon ${k === 1 ? 'person' : 'people'} nearest this face`;
  const d = fit.distance.toFixed(2);
  if (fit.blend === 0) return `drawn from this face as it is: ${d} from the nearest training face, as near as the data set's own people (up to ${anchors.fit.near.toFixed(2)})`;
  if (fit.blend === 1) return `drawn from ${people}: this face lies ${d} from the nearest training face, further out than the model learnt to draw (over ${anchors.fit.far.toFixed(2)})`;
  return `drawn ${Math.round(fit.blend * 100)}% from ${people}, ${Math.round((1 - fit.blend) * 100)}% from this face: it lies ${d} from the nearest training face`;
}
