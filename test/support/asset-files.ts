import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/** Small real files of each kind, made in the test rather than kept as fixtures. */

export const png = (width: number, height: number, seed = Math.random()) =>
  sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: Math.floor(seed * 255), g: 80, b: 160 },
    },
  })
    .png()
    .toBuffer();

/** A GLB (binary glTF 2.0) holding only its JSON chunk: an empty scene. */
export const glb = (name = 'cube') => {
  const json = Buffer.from(
    JSON.stringify({ asset: { version: '2.0', generator: name }, scenes: [{ nodes: [] }] }),
  );
  const padded = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
  const header = Buffer.alloc(20);
  header.write('glTF', 0, 'ascii');
  header.writeUInt32LE(2, 4);
  header.writeUInt32LE(12 + 8 + padded.length, 8);
  header.writeUInt32LE(padded.length, 12);
  header.write('JSON', 16, 'ascii');
  return Buffer.concat([header, padded]);
};

export const gltfJson = () =>
  Buffer.from(JSON.stringify({ asset: { version: '2.0' }, scenes: [{ nodes: [] }] }));

/** The start of an MP4 (an `ftyp` box) followed by `payload` bytes. */
export const mp4Header = () => {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypisom', 4, 'ascii');
  ftyp.writeUInt32BE(0x200, 12);
  ftyp.write('isommp41', 16, 'ascii');
  return ftyp;
};
export const mp4 = (payload = 100_000) => Buffer.concat([mp4Header(), randomBytes(payload)]);

/** MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz) of noise. */
export const mp3 = (frames = 100) => {
  const frame = () => {
    const bytes = randomBytes(417);
    bytes.set([0xff, 0xfb, 0x90, 0x64], 0);
    return bytes;
  };
  return Buffer.concat(Array.from({ length: frames }, frame));
};

/** A Windows executable's start (the MZ and PE headers file-type looks for). */
export const exe = () => {
  const bytes = Buffer.alloc(4096);
  bytes.write('MZ', 0, 'ascii');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\u0000\u0000', 0x80, 'latin1');
  return bytes;
};
