// The order test files start in. Two workers share the machine's two cores, so the run ends
// when the last long file ends: long files go first and the many short ones fill the gaps.
// vitest's own order puts a file it has timed before (node_modules/.vite) longest first, and
// an untimed one (a fresh clone: every file) largest first, which left the Python tests (a
// 26-line file, 150 s) to start last and run alone. Untimed files here go: the Python
// suite, then the browser tests, then the rest largest first.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Untimed files known to be long, longest first (figures: docs/testing.md). */
const LONG_FIRST: RegExp[] = [/src\/train\/torch\.test\.ts$/, /\/e2e\//];

const rank = (spec: TestSpecification) => {
  const i = LONG_FIRST.findIndex((r) => r.test(spec.moduleId));
  return i < 0 ? LONG_FIRST.length : i;
};

export default class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const timed = (spec: TestSpecification) => this.ctx.cache.getFileTestResults(`${spec.project.name}:${spec.moduleId.slice(this.ctx.config.root.length + 1)}`)?.duration;
    // vitest's order stands where it has timed every file (a run before this one)
    if (sorted.every((s) => timed(s) !== undefined)) return sorted;
    // stable sort: within a rank, vitest's order (largest first)
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
