import { prepareBinaryFrame } from './prepared-frame.js';

/** A message, and the same as a whole WebSocket frame ready for the wire. */
export interface PreparedFrame {
  payload: Uint8Array;
  wire: Buffer;
}

export const prepared = (payload: Uint8Array): PreparedFrame => ({
  payload,
  wire: prepareBinaryFrame(payload),
});

/**
 * One client's connection, as the rooms see it: binary frames out, how much is still buffered
 * (back-pressure), and closing. The transport behind it (ws today) is the only code that knows
 * sockets.
 */
export interface Connection {
  readonly isOpen: boolean;
  /** Bytes written but not yet sent: how far behind the client is. */
  readonly bufferedAmount: number;
  send(payload: Uint8Array): void;
  /** The same prepared bytes for many recipients: no framing per recipient. */
  sendPrepared(frame: PreparedFrame): void;
  close(code: number, reason: string): void;
  /** Cuts the connection off at once, without a closing handshake. */
  terminate(): void;
}

/** What the server does with one connection's traffic. */
export interface ConnectionHandlers {
  message(frame: Uint8Array, isBinary: boolean): void;
  closed(): void;
}

export interface Transport {
  /** Stops accepting connections; resolves once the listener is closed. */
  close(): Promise<void>;
}
