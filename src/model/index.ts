export * from './config';
export * from './types';
export { paramShapes, paramSpecs, initParams, disposeParams, kernelOf, dilationOf, reachOf, mulberry32 } from './params';
export { forward, forwardRaw, subpixelLogProbs, nllNats, bitsPerDim, condTensor, maskedWeights } from './forward';
export { receptiveField } from './receptive';
export { outputLogits, labelLogProbs, summedNats, outputsPerChannel } from './output';
