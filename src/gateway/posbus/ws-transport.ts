import type { Server as HttpServer } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from '../../shared/log.js';
import type { Connection, ConnectionHandlers, PreparedFrame, Transport } from './connection.js';
import { writePrepared } from './prepared-frame.js';

class WsConnection implements Connection {
  constructor(private readonly socket: WebSocket) {}
  get isOpen() {
    return this.socket.readyState === WebSocket.OPEN;
  }
  get bufferedAmount() {
    return this.socket.bufferedAmount;
  }
  send(payload: Uint8Array) {
    this.socket.send(payload);
  }
  sendPrepared(frame: PreparedFrame) {
    writePrepared(this.socket, frame.wire, frame.payload);
  }
  close(code: number, reason: string) {
    this.socket.close(code, reason);
  }
  terminate() {
    this.socket.terminate();
  }
}

const bytesOf = (data: RawData) =>
  data instanceof Buffer
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data as ArrayBuffer);

/** PosBus over WebSocket at /posbus on the HTTP server: binary frames, no compression. */
export const listenWebSocket = (
  http: HttpServer,
  options: { maxFrameBytes: number },
  log: Logger,
  accept: (connection: Connection) => ConnectionHandlers,
): Transport => {
  const wss = new WebSocketServer({
    server: http,
    path: '/posbus',
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('connection', (socket) => {
    const handlers = accept(new WsConnection(socket));
    socket.on('message', (data: RawData, isBinary) => handlers.message(bytesOf(data), isBinary));
    socket.on('close', () => handlers.closed());
    socket.on('error', (error) => log.debug({ err: error }, 'PosBus socket error'));
  });
  return { close: () => new Promise<void>((resolve) => wss.close(() => resolve())) };
};
