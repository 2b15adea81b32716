import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { prepareBinaryFrame, writePrepared } from '../../src/gateway/posbus/prepared-frame.js';

describe('Prepared broadcast frames', () => {
  it('reach a standard WebSocket client whole and in order, at every header length', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(server, 'listening');
    // Payload lengths around each header form: 7-bit, 16-bit and 64-bit lengths.
    const payloads = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000].map((n) => randomBytes(n));
    server.on('connection', (socket) => {
      payloads.forEach((payload, i) => {
        // Interleaved with ordinary sends: the order must hold across both.
        if (i % 2) socket.send(payload);
        else writePrepared(socket, prepareBinaryFrame(payload), payload);
      });
    });
    const { port } = server.address() as AddressInfo;
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload: 1 << 20 });
    const received: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data: Buffer, isBinary) => {
        assert.ok(isBinary);
        received.push(Buffer.from(data));
        if (received.length === payloads.length) resolve();
      });
      client.on('error', reject);
    });
    client.close();
    server.close();
    assert.deepEqual(
      received.map((r) => r.toString('hex')),
      payloads.map((p) => p.toString('hex')),
    );
  });
});
