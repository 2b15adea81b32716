import { CloseCode, encode, ServerOp } from '../../client/wire/protocol.js';
import { prepared, type Connection, type PreparedFrame } from './connection.js';
import type { Counters } from './metrics.js';

/**
 * Everything a client is sent goes through here: counted, and refused to a client too far
 * behind, which is closed with `resume` (it reconnects and resumes from its position).
 */
export interface Outbox {
  send(to: Connection, payload: Uint8Array): void;
  /** A frame for many recipients: the same prepared bytes for each. */
  sendPrepared(to: Connection, frame: PreparedFrame): void;
  sendError(to: Connection, code: string, message: string): void;
  /** One message to every member (but `except`), framed once; returns its payload. */
  broadcast(
    members: Iterable<{ connection: Connection }>,
    payload: Uint8Array,
    except?: { connection: Connection },
  ): Uint8Array;
}

export const createOutbox = (options: { closeAboveBytes: number }, counters: Counters): Outbox => {
  const admit = (to: Connection, bytes: number) => {
    if (!to.isOpen) return false;
    if (to.bufferedAmount > options.closeAboveBytes) {
      counters.kicks++;
      to.close(CloseCode.resume, 'too far behind; reconnect and resume');
      // A client that reads nothing never reads the close either: cut it off.
      setTimeout(() => to.terminate(), 1_000).unref();
      return false;
    }
    counters.messagesOut++;
    counters.bytesOut += bytes;
    return true;
  };
  const send = (to: Connection, payload: Uint8Array) => {
    if (admit(to, payload.byteLength)) to.send(payload);
  };
  const sendPrepared = (to: Connection, frame: PreparedFrame) => {
    if (admit(to, frame.payload.byteLength)) to.sendPrepared(frame);
  };
  return {
    send,
    sendPrepared,
    sendError: (to, code, message) => send(to, encode(ServerOp.error, { code, message })),
    broadcast: (members, payload, except) => {
      const frame = prepared(payload);
      for (const member of members) if (member !== except) sendPrepared(member.connection, frame);
      return payload;
    },
  };
};
