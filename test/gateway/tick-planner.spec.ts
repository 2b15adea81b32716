import assert from 'node:assert/strict';
import { ServerOp, TRANSFORMS_HEADER_BYTES } from '../../src/client/wire/protocol.js';
import { decodeTransformRecords, type AvatarTransform } from '../../src/client/wire/transforms.js';
import {
  planTick,
  SKIPPED,
  type TickAvatar,
  type TickInput,
  type TickRecipient,
} from '../../src/gateway/posbus/tick-planner.js';

const at = (x: number, z = 0): AvatarTransform => ({
  position: { x, y: 0, z },
  rotation: { x: 0, y: 0, z: 0 },
});

const avatar = (
  index: number,
  transform: AvatarTransform | undefined,
  moved = true,
): TickAvatar => ({
  index,
  transform,
  moved,
});

interface Recipient extends TickRecipient {
  name: string;
  behind?: boolean;
}

/** A recipient that has been standing at `transform` since the last tick. */
const settled = (name: string, transform: AvatarTransform, cell: string): Recipient => ({
  name,
  transform,
  cell,
  needsKeyframe: false,
});

const plan = (
  input: Partial<TickInput<Recipient>> & Pick<TickInput<Recipient>, 'avatars' | 'recipients'>,
) =>
  planTick<Recipient, Uint8Array>(
    {
      tick: 7,
      at: 1_700_000_000_000,
      backlogged: (r) => r.behind === true,
      cellSize: 10,
      visibleCap: 100,
      ...input,
    },
    (payload) => payload,
  );

/** The session indexes a frame carries, in order. */
const indexes = (frame: Uint8Array | null | typeof SKIPPED | undefined) => {
  assert.ok(frame instanceof Uint8Array, `a frame, not ${String(frame)}`);
  return decodeTransformRecords(frame, TRANSFORMS_HEADER_BYTES).map(([index]) => index);
};

describe('PosBus tick planner', () => {
  it('frames a transforms message with the tick and its time', () => {
    const { frames } = plan({
      avatars: [[avatar(1, at(1))]],
      recipients: [settled('a', at(1), '0,0')],
    });
    const frame = frames[0];
    assert.ok(frame instanceof Uint8Array);
    assert.equal(frame[0], ServerOp.transforms);
    const header = new DataView(frame.buffer, frame.byteOffset);
    assert.equal(header.getUint32(1, true), 7);
    assert.equal(header.getFloat64(5, true), 1_700_000_000_000);
    assert.deepEqual(decodeTransformRecords(frame, TRANSFORMS_HEADER_BYTES), [[1, at(1)]]);
  });

  it('sends a settled recipient only who moved in sight, and nothing when nobody did', () => {
    const still = plan({
      avatars: [[avatar(1, at(1), false), avatar(2, at(2), false)]],
      recipients: [settled('a', at(1), '0,0')],
    });
    assert.deepEqual(still.frames, [null]);

    const moved = plan({
      avatars: [[avatar(1, at(1), false), avatar(2, at(2), true)]],
      recipients: [settled('a', at(1), '0,0')],
    });
    assert.deepEqual(indexes(moved.frames[0]), [2]);
  });

  it('sends a keyframe of everyone in sight to a recipient that needs one or changed cell', () => {
    const avatars = [[avatar(1, at(1), false), avatar(2, at(2), false)]];
    const joined = plan({
      avatars,
      recipients: [{ name: 'a', transform: at(1), cell: undefined, needsKeyframe: true }],
    });
    assert.deepEqual(indexes(joined.frames[0]), [1, 2]);

    const crossed = plan({ avatars, recipients: [settled('a', at(1), '5,5')] });
    assert.deepEqual(indexes(crossed.frames[0]), [1, 2]);
    assert.deepEqual(crossed.cells, ['0,0']);
  });

  it('shows a recipient its own cell and the eight around it, nearest first, and no further', () => {
    const { frames } = plan({
      avatars: [
        [
          avatar(1, at(-5, -5)), // corner cell -1,-1
          avatar(2, at(15)), // edge cell 1,0
          avatar(3, at(5)), // own cell 0,0
          avatar(4, at(25)), // two cells away
          avatar(5, undefined), // never placed
        ],
      ],
      recipients: [settled('a', at(5), '0,0')],
    });
    assert.deepEqual(indexes(frames[0]), [3, 2, 1]);
  });

  it('stops adding whole cells once the cap is reached', () => {
    const { frames } = plan({
      visibleCap: 2,
      avatars: [[avatar(1, at(1)), avatar(2, at(2)), avatar(3, at(12))]],
      recipients: [settled('a', at(1), '0,0')],
    });
    // The own cell alone reaches the cap: the cell beside it is left out, not cut in half.
    assert.deepEqual(indexes(frames[0]), [1, 2]);
  });

  it('takes avatars from every group (this gateway and the others)', () => {
    const { frames } = plan({
      avatars: [[avatar(1, at(1))], [avatar(9, at(3))]],
      recipients: [settled('a', at(1), '0,0')],
    });
    assert.deepEqual(indexes(frames[0]), [1, 9]);
  });

  it('makes one frame per home cell, the same bytes for everyone standing in it', () => {
    const { frames } = plan({
      avatars: [[avatar(1, at(1)), avatar(2, at(2)), avatar(3, at(95))]],
      recipients: [
        settled('a', at(1), '0,0'),
        settled('b', at(2), '0,0'),
        settled('c', at(95), '9,0'),
      ],
    });
    assert.equal(frames[0], frames[1], 'one frame object shared');
    assert.notEqual(frames[0], frames[2]);
    assert.deepEqual(indexes(frames[2]), [3]);
  });

  it('skips a backlogged recipient and still says where it stands', () => {
    const { frames, cells } = plan({
      avatars: [[avatar(1, at(1))]],
      recipients: [{ ...settled('a', at(1), '0,0'), behind: true }, settled('b', at(15), '1,0')],
    });
    assert.equal(frames[0], SKIPPED);
    assert.deepEqual(indexes(frames[1]), [1]);
    assert.deepEqual(cells, ['0,0', '1,0']);
  });

  it('changes nothing it is given', () => {
    const avatars = [avatar(1, at(1))];
    const recipient = { name: 'a', transform: at(1), cell: undefined, needsKeyframe: true };
    plan({ avatars: [avatars], recipients: [recipient] });
    assert.deepEqual(avatars, [avatar(1, at(1))]);
    assert.deepEqual(recipient, {
      name: 'a',
      transform: at(1),
      cell: undefined,
      needsKeyframe: true,
    });
  });
});
