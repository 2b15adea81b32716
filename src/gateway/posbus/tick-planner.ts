import { ServerOp, TRANSFORMS_HEADER_BYTES } from '../../client/wire/protocol.js';
import { encodeTransformRecords, type AvatarTransform } from '../../client/wire/transforms.js';
import { cellOf, neighbourhood, type CellKey } from './interest.js';

/** Someone whose transform may go out: `index` is how the recipients' records name them. */
export interface TickAvatar {
  index: number;
  transform: AvatarTransform | undefined;
  /** Moved since the last tick. */
  moved: boolean;
}

/** A client to send positions to, as it stood after the last tick. */
export interface TickRecipient {
  transform: AvatarTransform | undefined;
  /** The cell it stood in at the last tick (a new cell calls for a keyframe). */
  cell: CellKey | undefined;
  /** Just joined, or skipped frames: it gets every user of its cells, not only those who moved. */
  needsKeyframe: boolean;
}

export interface TickInput<R extends TickRecipient> {
  tick: number;
  /** Server time of the tick, ms since 1970. */
  at: number;
  /** Everyone in the world, in groups (this gateway's sessions, each other gateway's avatars). */
  avatars: ReadonlyArray<Iterable<TickAvatar>>;
  recipients: Iterable<R>;
  /** Whether a recipient is too far behind for positions this tick. */
  backlogged: (recipient: R) => boolean;
  cellSize: number;
  /** Roughly how many others a recipient is sent (whole cells, nearest first). */
  visibleCap: number;
}

export const SKIPPED = 'skipped';

/** What to do for each recipient, in the order the recipients came. */
export interface TickPlan<F> {
  /** The frame to send; null when nothing in sight moved; SKIPPED when it was backlogged. */
  frames: Array<F | null | typeof SKIPPED>;
  /** The cell each recipient stands in now. */
  cells: CellKey[];
}

/** A transforms message: header (type, u32 tick, float64 time), then the records. */
export const transformsPayload = (
  tick: number,
  at: number,
  avatars: readonly TickAvatar[],
): Uint8Array => {
  const payload = encodeTransformRecords(
    TRANSFORMS_HEADER_BYTES,
    avatars.map((a) => [a.index, a.transform as AvatarTransform]),
  );
  payload[0] = ServerOp.transforms;
  const view = new DataView(payload.buffer);
  view.setUint32(1, tick, true);
  view.setFloat64(5, at, true);
  return payload;
};

/**
 * One tick of one world, decided without sending anything. Each home cell's frame is made once
 * (through `prepare`, e.g. into ready WebSocket bytes) and the same frame is planned for
 * everyone standing in that cell: the moved users of its neighbourhood (nearest cells first,
 * whole cells up to the cap), or, for a recipient that needs a keyframe, every user there.
 */
export const planTick = <R extends TickRecipient, F>(
  input: TickInput<R>,
  prepare: (payload: Uint8Array) => F,
): TickPlan<F> => {
  const { tick, at, cellSize, visibleCap } = input;
  const cells = new Map<CellKey, TickAvatar[]>();
  for (const group of input.avatars)
    for (const avatar of group) {
      // Only placed avatars: one that never sent a transform is nowhere yet.
      if (!avatar.transform) continue;
      const cell = cellOf(avatar.transform, cellSize);
      const members = cells.get(cell);
      if (members) members.push(avatar);
      else cells.set(cell, [avatar]);
    }
  const visibleFrom = (home: CellKey) => {
    const seen: TickAvatar[] = [];
    for (const cell of neighbourhood(home)) {
      if (seen.length >= visibleCap) break;
      seen.push(...(cells.get(cell) ?? []));
    }
    return seen;
  };
  const deltas = new Map<CellKey, F | null>();
  const keyframes = new Map<CellKey, F>();
  const deltaFor = (home: CellKey) => {
    let frame = deltas.get(home);
    if (frame === undefined) {
      const moved = visibleFrom(home).filter((a) => a.moved);
      frame = moved.length ? prepare(transformsPayload(tick, at, moved)) : null;
      deltas.set(home, frame);
    }
    return frame;
  };
  const keyframeFor = (home: CellKey) => {
    let frame = keyframes.get(home);
    if (frame === undefined) {
      frame = prepare(transformsPayload(tick, at, visibleFrom(home)));
      keyframes.set(home, frame);
    }
    return frame;
  };
  const plan: TickPlan<F> = { frames: [], cells: [] };
  for (const recipient of input.recipients) {
    const home = cellOf(recipient.transform, cellSize);
    plan.cells.push(home);
    if (input.backlogged(recipient)) plan.frames.push(SKIPPED);
    else
      plan.frames.push(
        recipient.needsKeyframe || home !== recipient.cell ? keyframeFor(home) : deltaFor(home),
      );
  }
  return plan;
};
