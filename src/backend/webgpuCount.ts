// Counts what reaches the GPU in Node: every queue submit, every buffer mapped for reading,
// and the labelled buffers alive (the fused sampler labels its own; tfjs's pool does not).
// Tests and the bench measure the fused sampler's traffic with it, independently of its own counters.
interface Counts {
  submits: number;
  readbacks: number;
  liveBuffers: number;
}

const counts: Counts = { submits: 0, readbacks: 0, liveBuffers: 0 };
let installed = false;

/** Wraps GPUQueue.submit, GPUBuffer.mapAsync / destroy and GPUDevice.createBuffer once; returns a reader of the totals. */
export function countGpuTraffic(): () => Counts {
  if (!installed) {
    const g = globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> } | undefined>;
    const [Queue, Buffer, Device] = [g.GPUQueue, g.GPUBuffer, g.GPUDevice];
    if (!Queue || !Buffer || !Device) throw new Error('countGpuTraffic: no WebGPU globals (start the webgpu backend first)');
    const live = new WeakSet<object>();
    const wrap = (proto: Record<string, (...a: unknown[]) => unknown>, name: string, before: (self: object, args: unknown[]) => void, after?: (out: unknown) => void) => {
      const orig = proto[name];
      proto[name] = function (this: object, ...args: unknown[]) {
        before(this, args);
        const out = orig.apply(this, args);
        after?.(out);
        return out;
      };
    };
    wrap(Queue.prototype, 'submit', () => counts.submits++);
    wrap(Buffer.prototype, 'mapAsync', () => counts.readbacks++);
    wrap(Buffer.prototype, 'destroy', (self) => {
      if (live.has(self)) {
        live.delete(self);
        counts.liveBuffers--;
      }
    });
    wrap(Device.prototype, 'createBuffer', () => {}, (b) => {
      if ((b as { label?: string }).label) {
        live.add(b as object);
        counts.liveBuffers++;
      }
    });
    installed = true;
  }
  return () => ({ ...counts });
}
