import { randomUUID } from 'node:crypto';
import { chainHash, contentDigest } from '/work/wt-audit-seals/src/storage/event-store/hash-chain.js';
import { createLogChecker } from '/work/wt-audit-seals/src/storage/audit/log-checker.js';
const N = 100000;
const events: any[] = [];
const heads = new Map<string, any>();
for (let i = 0; i < N; i++) {
  const stream = `object-${i % 1000}`; const h = heads.get(stream);
  const e: any = { id: randomUUID(), stream, revision: h ? h.revision + 1 : 0, type: 'ObjectTransformed', data: { objectId: randomUUID(), position: { x: i * 0.5, y: 1.25, z: -i }, rotation: { x: 0, y: 0.7071, z: 0, w: 0.7071 }, scale: { x: 1, y: 1, z: 1 }, name: `object number ${i} in the benchmark world`, tags: ['bench', 'transform', 'odyssey'] }, metadata: { actor: { kind: 'user', id: randomUUID(), auth: 'ethereum' }, correlationId: randomUUID(), commandId: randomUUID(), occurredAt: new Date().toISOString(), schemaVersion: 1 }, position: String(i).padStart(20, '0'), prevHash: h?.hash ?? null };
  e.hash = chainHash(e.prevHash, stream, e.revision, contentDigest(e)); heads.set(stream, e); events.push(e);
}
for (let r = 0; r < 3; r++) {
  const c = createLogChecker(); const t = performance.now();
  for (const e of events) { const bad = c.check(e); if (bad) throw new Error(bad); }
  const ms = performance.now() - t; console.log('check', Math.round(N / ms * 1000), 'events/s');
  const t2 = performance.now(); for (const e of events) contentDigest(e); console.log('  digest only', Math.round(N / (performance.now() - t2) * 1000));
}
