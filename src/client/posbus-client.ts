import { WebSocket as WsWebSocket } from 'ws';
import { PosBusClient } from './client.js';
import { platformWebSocket, type WebSocketConstructor } from './socket.js';

/**
 * The Node entry: the platform's WebSocket where Node has one (22 and later), else the `ws`
 * package (Node 20). Everything else is the browser entry's (index.ts).
 */
PosBusClient.defaultWebSocket ??=
  platformWebSocket() ?? (WsWebSocket as unknown as WebSocketConstructor);
// An app may pass `ws` itself (options.WebSocket) on any Node version.
PosBusClient.nodeBufferSockets.add(WsWebSocket as unknown as WebSocketConstructor);

export * from './index.js';
