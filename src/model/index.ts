export * from './config';
export * from './types';
export { paramShapes, paramSpecs, initParams, disposeParams } from './params';
export { forward, forwardRaw, subpixelLogProbs, nllNats, bitsPerDim, maskedWeights } from './forward';
// the layer functions the cached and fused samplers run on their windows
export { normalizeInput, verticalPre, horizontalPre, layerOut, head, maskedPre } from './forward';
export { condTensor, spatialMap, condTerms } from './conditioning';
export { receptiveField } from './receptive';
export { outputLogits, labelLogProbs, summedNats, outputsPerChannel } from './output';
// the auto-encoder (issue 23): image -> code, and codes -> the conditions of a morph / variations
export { encode, encodeImages } from './encoder';
export { interpolateCodes, repeatEach } from './codes';
export { encoderGrid } from './params';
// the generative classifier: p(c | x) by Bayes from each class's likelihood
export { classSubpixelLogProbs, classLogLikelihoods, classify, posterior, type Classified } from './classify';
