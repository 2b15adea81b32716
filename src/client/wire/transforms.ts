import type { Vec3 } from './geometry.js';

/**
 * Avatar transforms on the wire: fixed-size little-endian records, read and written with
 * DataView (several times faster than Buffer's helpers). Position as float32; rotation as Euler
 * degrees in int16 (a step of 0.0055°), which is what the worlds use.
 *
 * Upstream (my transform): 18 bytes, position then rotation.
 * Downstream: 22 bytes per user, a u32 session index first, then the same 18 bytes.
 */
export interface AvatarTransform {
  position: Vec3;
  rotation: Vec3;
}

export const UPSTREAM_TRANSFORM_BYTES = 18;
export const DOWNSTREAM_RECORD_BYTES = 22;
const DEGREES_SCALE = 32767 / 180;

const wrapDegrees = (degrees: number) => {
  const wrapped = ((((degrees + 180) % 360) + 360) % 360) - 180;
  return Math.max(-32767, Math.min(32767, Math.round(wrapped * DEGREES_SCALE)));
};

const writeTransform = (view: DataView, offset: number, t: AvatarTransform) => {
  view.setFloat32(offset, t.position.x, true);
  view.setFloat32(offset + 4, t.position.y, true);
  view.setFloat32(offset + 8, t.position.z, true);
  view.setInt16(offset + 12, wrapDegrees(t.rotation.x), true);
  view.setInt16(offset + 14, wrapDegrees(t.rotation.y), true);
  view.setInt16(offset + 16, wrapDegrees(t.rotation.z), true);
};

const readTransform = (view: DataView, offset: number): AvatarTransform => ({
  position: {
    x: view.getFloat32(offset, true),
    y: view.getFloat32(offset + 4, true),
    z: view.getFloat32(offset + 8, true),
  },
  rotation: {
    x: view.getInt16(offset + 12, true) / DEGREES_SCALE,
    y: view.getInt16(offset + 14, true) / DEGREES_SCALE,
    z: view.getInt16(offset + 16, true) / DEGREES_SCALE,
  },
});

export const encodeUpstreamTransform = (transform: AvatarTransform): Uint8Array => {
  const bytes = new Uint8Array(UPSTREAM_TRANSFORM_BYTES);
  writeTransform(new DataView(bytes.buffer), 0, transform);
  return bytes;
};

/** Undefined unless exactly one record of finite numbers. */
export const decodeUpstreamTransform = (bytes: Uint8Array): AvatarTransform | undefined => {
  if (bytes.byteLength !== UPSTREAM_TRANSFORM_BYTES) return undefined;
  const transform = readTransform(
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    0,
  );
  const { x, y, z } = transform.position;
  return Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z) ? transform : undefined;
};

/** `prefix` bytes are left for the frame header; the records follow. */
export const encodeTransformRecords = (
  prefix: number,
  records: ReadonlyArray<readonly [index: number, transform: AvatarTransform]>,
): Uint8Array => {
  const bytes = new Uint8Array(prefix + records.length * DOWNSTREAM_RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  records.forEach(([index, transform], i) => {
    const offset = prefix + i * DOWNSTREAM_RECORD_BYTES;
    view.setUint32(offset, index, true);
    writeTransform(view, offset + 4, transform);
  });
  return bytes;
};

export const decodeTransformRecords = (bytes: Uint8Array, prefix: number) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Array<[number, AvatarTransform]> = [];
  for (
    let offset = prefix;
    offset + DOWNSTREAM_RECORD_BYTES <= bytes.byteLength;
    offset += DOWNSTREAM_RECORD_BYTES
  )
    records.push([view.getUint32(offset, true), readTransform(view, offset + 4)]);
  return records;
};
