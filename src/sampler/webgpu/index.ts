// Fused WebGPU sampling: the cached sampler's work in three hand-written kernels.
//  - rowKernel.ts, once per row: every layer's vertical stack and the row's link terms.
//  - pixelKernel.ts, once per sub-pixel: every layer's horizontal step, the head and the
//    softmax, then one readback of the N x K distribution.
//  - warmKernel.ts, once for a prefix that ends inside a row: the horizontal stack over the
//    given columns at once, leaving the pixel kernel's state for the next column.
// layout.ts says where every weight and state block sits (pack.ts fills the buffers from it),
// shim.ts is the little of tfjs-backend-webgpu we use, stepper.ts drives the kernels.
// Each stream gets one row workgroup; each image one pixel workgroup, which runs the
// horizontal step of all its streams side by side (guidance: S streams per image, see
// guidance.ts). Layers run in order inside a workgroup, separated by barriers. Sizes are
// baked into the WGSL text (wgsl.ts's shapeKey); per-step values are uniforms. The portable
// CachedStepper is the reference these kernels are tested against (e2e/fused.test.ts).
export { fusedLayout, type FusedLayout } from './layout';
export { isWebGPUBackend } from './shim';
export { FusedWebGPUStepper } from './stepper';
export { fusedTuning } from './wgsl';
