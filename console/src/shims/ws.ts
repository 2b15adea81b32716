import { EventEmitter } from 'events';

/**
 * The part of the `ws` package's WebSocket that the shipped PosBus client uses, over the
 * browser's own WebSocket. The bundler maps `ws` here for the page (see src/app/console-build.ts);
 * once the client picks the platform WebSocket by itself, this file goes.
 */
export class WebSocket extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  private readonly socket: globalThis.WebSocket;

  constructor(url: string) {
    super();
    this.socket = new globalThis.WebSocket(url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('open', () => this.emit('open'));
    this.socket.addEventListener('message', (message: MessageEvent) => {
      const data: unknown = message.data;
      this.emit(
        'message',
        data instanceof ArrayBuffer ? new Uint8Array(data) : new TextEncoder().encode(String(data)),
      );
    });
    this.socket.addEventListener('close', (close: CloseEvent) =>
      this.emit('close', close.code, close.reason),
    );
    this.socket.addEventListener('error', () => this.emit('error', new Error('socket error')));
  }

  get readyState() {
    return this.socket.readyState;
  }

  /** The browser always delivers bytes as ArrayBuffer here; the client's choice is ignored. */
  set binaryType(_type: string) {}

  send(data: Uint8Array | string) {
    this.socket.send(data);
  }

  close(code?: number, reason?: string) {
    this.socket.close(code, reason);
  }

  terminate() {
    this.socket.close();
  }

  /** A browser cannot stop reading a socket; only the test helpers call these. */
  pause() {}
  resume() {}
}
