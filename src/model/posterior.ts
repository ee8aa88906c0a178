// Bayes' rule for a class-conditional model, without tfjs (the page turns a score into
// p(class | drawing) with it; classify.ts uses it for whole test sets).

/** p(c | x) from the log-likelihoods log p(x | c) of one image, uniform prior. Sums to 1. */
export function posterior(logLik: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logLik.length; i++) max = Math.max(max, logLik[i]);
  if (!Number.isFinite(max)) throw new Error(`classify: the log-likelihoods are not finite (largest ${max})`);
  const p = new Float64Array(logLik.length);
  let sum = 0;
  for (let i = 0; i < logLik.length; i++) sum += p[i] = Math.exp(logLik[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}
