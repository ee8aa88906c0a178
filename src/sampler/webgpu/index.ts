// Fused WebGPU sampling: a whole run on the GPU in three hand-written kernels, drawn there.
//  - rowKernel.ts, once per row: every layer's vertical stack and the row's link terms.
//  - pixelKernel.ts, once per sub-pixel: every layer's horizontal step, the head, the
//    softmax and the draw, whose level goes into the GPU-side image the next dispatches read.
//  - warmKernel.ts, once for a prefix that ends inside a row: the horizontal stack over the
//    given columns at once, leaving the pixel kernel's state for the next column.
// layout.ts says where every weight and state block sits, kernel.ts compiles and binds the
// kernels on tfjs's GPUDevice, rowSampler.ts runs them: one submit and one readback per row.
// Each stream gets one row workgroup; each image one pixel workgroup, which runs the
// horizontal step of all its streams side by side (guidance: S streams per image, see
// guidance.ts). Layers run in order inside a workgroup, separated by barriers. Sizes are
// baked into the WGSL text; per-dispatch values are uniform slots. The portable samplers are
// the reference these kernels are tested against (src/sampler/fused.test.ts, e2e/fused.test.ts).
export { fusedLayout, type FusedLayout } from './layout';
export { fusedCounts, isWebGPUBackend } from './kernel';
export { FusedSampler, GPUFault, type FusedStats, type RowResult } from './rowSampler';
export { fusedTuning } from './wgsl';
