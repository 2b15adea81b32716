import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * A binary WebSocket frame, header and payload in one buffer, made once and written as is to
 * every recipient of a broadcast (positions, events, presence). Sent through `ws`, each
 * recipient would cost a header of its own, a cork and a two-buffer writev; with thousands of
 * recipients per tick that is most of the gateway's own (non-kernel) work.
 */
export const prepareBinaryFrame = (payload: Uint8Array): Buffer => {
  const length = payload.byteLength;
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x82; // FIN, binary
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.set(payload, headerBytes);
  return frame;
};

/** The parts of a `ws` WebSocket (8.x) that decide whether a raw write keeps frames in order. */
interface WsInternals {
  _socket?: Socket;
  _sender?: { _state?: unknown; _queue?: unknown[] };
}

/**
 * Writes a prepared frame straight to the connection's socket. Only while `ws`'s sender is idle
 * with nothing queued (always so without compression or Blob payloads, as here), so frames stay
 * in order; otherwise, or with a `ws` whose internals differ, through `ws` as usual.
 */
export const writePrepared = (socket: WebSocket, frame: Buffer, payload: Uint8Array) => {
  const { _socket: raw, _sender: sender } = socket as unknown as WsInternals;
  if (raw && sender?._state === 0 && sender._queue?.length === 0) raw.write(frame);
  else socket.send(payload);
};
