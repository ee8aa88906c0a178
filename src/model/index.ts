export * from './config';
export * from './types';
export { paramShapes, paramSpecs, initParams, disposeParams, kernelOf, mulberry32 } from './params';
export { forward, nllNats, bitsPerDim, condTensor, maskedWeights } from './forward';
export { receptiveField } from './receptive';
