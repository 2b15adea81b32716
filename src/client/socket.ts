/**
 * The part of a WebSocket the client uses: the WHATWG interface, which browsers, Node 22's
 * global `WebSocket` and the `ws` package all implement. Declared here so the client compiles
 * without the DOM library and runs on any of them.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array | ArrayBuffer | string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const OPEN = 1;
export const CLOSED = 3;

/** The platform's WebSocket (browsers, Node 22 and later), if it has one. */
export const platformWebSocket = (): WebSocketConstructor | undefined =>
  (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;

/** `ws://host:port/posbus` from a server's base URL (http, https, ws or wss). */
export const posBusUrl = (url: string) => {
  const ws = url.replace(/^http/, 'ws').replace(/\/+$/, '');
  return ws.endsWith('/posbus') ? ws : `${ws}/posbus`;
};
