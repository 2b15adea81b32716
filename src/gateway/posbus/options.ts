export interface PosBusOptions {
  tickHz: number;
  handshakeTimeoutMs: number;
  maxFrameBytes: number;
  maxInvalidFrames: number;
  /** Past this many buffered bytes a client skips position frames and gets a keyframe later. */
  skipPositionsAboveBytes: number;
  /**
   * A client that acknowledges ticks (ClientOp.ack) is lagging when, owing acknowledgements, it
   * makes no progress for this long: it gets no positions until it acknowledges the last frame
   * sent, then a keyframe. Counted in ticks run (tickHz), so that a gateway that is itself
   * behind does not blame its clients for the delay.
   */
  lagAfterMs: number;
  /** Past this many buffered bytes the client is closed with `resume`: it reconnects and resumes. */
  closeAboveBytes: number;
  /** Side of a grid cell, in world units; a client sees its cell and the eight around it. */
  cellSize: number;
  /** Roughly how many other users a client is sent (whole cells, nearest first). */
  visibleCap: number;
  /** During a drag, at most one recorded move per this many milliseconds (besides the end). */
  dragPersistEveryMs: number;
  /** How often the presence lease is renewed and lapsed ones are looked for (tests shorten it). */
  leaseRenewEveryMs?: number;
}

export const DEFAULT_POSBUS_OPTIONS: PosBusOptions = {
  tickHz: 10,
  handshakeTimeoutMs: 5_000,
  maxFrameBytes: 4_096,
  maxInvalidFrames: 10,
  skipPositionsAboveBytes: 256 * 1024,
  lagAfterMs: 2_000,
  closeAboveBytes: 8 * 1024 * 1024,
  cellSize: 32,
  visibleCap: 100,
  dragPersistEveryMs: 1_000,
};
