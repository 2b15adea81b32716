import assert from 'node:assert/strict';
import { DomainError, type DomainErrorKind } from '../../src/domain/errors.js';

/**
 * Given/when/then for pure deciders: given the state (built by folding past events), when a
 * command arrives, then exactly these events come out, or it is refused with this code.
 */
export const specification = <C, E, Context>(
  decide: (command: C, context: Context) => readonly E[],
) => ({
  given: (context: Context) => ({
    when: (command: C) => ({
      then: (expected: readonly E[]) => assert.deepEqual(decide(command, context), expected),
      thenRefuses: (code: string, kind?: DomainErrorKind) =>
        assert.throws(
          () => decide(command, context),
          (error: unknown) => {
            assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
            assert.equal(error.code, code);
            if (kind) assert.equal(error.kind, kind);
            return true;
          },
        ),
    }),
  }),
});
