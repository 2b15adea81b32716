import { parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import { TRANSFORMS_HEADER_BYTES } from '../src/client/wire/protocol.js';
import { DOWNSTREAM_RECORD_BYTES, encodeUpstreamTransform } from '../src/client/wire/transforms.js';

/** The Socket.IO side of the PosBus benchmark: the same walkers, the same measurements. */
interface Job {
  url: string;
  users: number;
  side: number;
  seconds: number;
  hz: number;
}

const job = workerData as Job;
const sockets: Socket[] = [];
for (let i = 0; i < job.users; i++) {
  const socket = io(job.url, { transports: ['websocket'], forceNew: true });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  sockets.push(socket);
}
parentPort!.postMessage({ kind: 'joined' });
await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));

const latencies: number[] = [];
let bytes = 0;
let records = 0;
for (const socket of sockets) {
  socket.on('f', (data: ArrayBuffer | Buffer) => {
    const frame =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    latencies.push(Date.now() - view.getFloat64(5, true));
    bytes += frame.byteLength;
    records += (frame.byteLength - TRANSFORMS_HEADER_BYTES) / DOWNSTREAM_RECORD_BYTES;
  });
}
const walkers = sockets.map(() => ({
  x: Math.random() * job.side,
  z: Math.random() * job.side,
  heading: Math.random() * 360,
}));
const step = setInterval(() => {
  sockets.forEach((socket, i) => {
    const w = walkers[i]!;
    w.heading += (Math.random() - 0.5) * 20;
    w.x = Math.min(job.side, Math.max(0, w.x + Math.cos((w.heading * Math.PI) / 180) * 0.5));
    w.z = Math.min(job.side, Math.max(0, w.z + Math.sin((w.heading * Math.PI) / 180) * 0.5));
    socket.emit(
      't',
      encodeUpstreamTransform({
        position: { x: w.x, y: 0, z: w.z },
        rotation: { x: 0, y: w.heading, z: 0 },
      }),
    );
  });
}, 1000 / job.hz);
await new Promise((resolve) => setTimeout(resolve, job.seconds * 1000));
clearInterval(step);
parentPort!.postMessage({ kind: 'done', latencies, bytes, records });
for (const socket of sockets) socket.close();
