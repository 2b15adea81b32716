import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { percentile } from './stats.js';
import { cellOf, neighbourhood, type CellKey } from '../src/gateway/posbus/interest.js';
import { TRANSFORMS_HEADER_BYTES, ServerOp } from '../src/client/wire/protocol.js';
import {
  decodeUpstreamTransform,
  encodeTransformRecords,
  type AvatarTransform,
} from '../src/client/wire/transforms.js';

/**
 * The baseline for the PosBus benchmark: the same position logic (grid cells, one frame per
 * home cell encoded once, 10 Hz ticks, the same binary records) on Socket.IO, with a room per
 * cell and `io.to(room).emit`. Only positions: the durable path is not part of what is compared.
 * Runs as its own process; prints its port, and serves its CPU and memory at /metrics.
 */
interface Member {
  index: number;
  transform?: AvatarTransform;
  moved: boolean;
  cell?: CellKey;
}

const http = createServer((request, response) => {
  if (request.url !== '/metrics') return void response.writeHead(404).end();
  const cpu = process.cpuUsage();
  response.setHeader('content-type', 'application/json');
  response.end(
    JSON.stringify({
      process: { cpuMicros: cpu.user + cpu.system, rssBytes: process.memoryUsage().rss },
      posbus: {
        skippedFrames: 0,
        tickMsP99: percentile(
          [...tickMs].sort((a, b) => a - b),
          99,
        ),
      },
    }),
  );
});
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false });
const members = new Map<string, Member>();
let nextIndex = 1;
let tick = 0;
const tickMs: number[] = [];

io.on('connection', (socket) => {
  const member: Member = { index: nextIndex++, moved: false };
  members.set(socket.id, member);
  socket.on('t', (bytes: Buffer) => {
    const transform = decodeUpstreamTransform(new Uint8Array(bytes));
    if (!transform) return;
    member.transform = transform;
    member.moved = true;
  });
  socket.on('disconnect', () => members.delete(socket.id));
});

setInterval(() => {
  const started = performance.now();
  tick++;
  const sentAt = Date.now();
  const cells = new Map<CellKey, Member[]>();
  for (const [id, member] of members) {
    const home = cellOf(member.transform, 32);
    if (home !== member.cell) {
      const socket = io.sockets.sockets.get(id);
      if (member.cell) void socket?.leave(`cell:${member.cell}`);
      void socket?.join(`cell:${home}`);
      member.cell = home;
    }
    if (!member.transform) continue;
    const list = cells.get(home) ?? [];
    list.push(member);
    cells.set(home, list);
  }
  const homes = new Set([...members.values()].map((m) => m.cell!));
  for (const home of homes) {
    const moved: Array<[number, AvatarTransform]> = [];
    for (const cell of neighbourhood(home)) {
      if (moved.length >= 100) break;
      for (const m of cells.get(cell) ?? []) if (m.moved) moved.push([m.index, m.transform!]);
    }
    if (moved.length === 0) continue;
    const frame = encodeTransformRecords(TRANSFORMS_HEADER_BYTES, moved);
    frame[0] = ServerOp.transforms;
    const view = new DataView(frame.buffer);
    view.setUint32(1, tick, true);
    view.setFloat64(5, sentAt, true);
    io.to(`cell:${home}`).emit('f', Buffer.from(frame.buffer));
  }
  for (const member of members.values()) member.moved = false;
  tickMs.push(performance.now() - started);
  if (tickMs.length > 1000) tickMs.shift();
}, 100);

http.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (http.address() as AddressInfo).port }));
});
