import { MalformedFrame } from '../../../client/wire/protocol.js';
import { decodeUpstreamTransform } from '../../../client/wire/transforms.js';
import type { Session } from '../session.js';

/**
 * My avatar's transform: 18 bytes after the type. Most of the traffic, so taken at once, with
 * nothing asynchronous; the tick sends it on.
 */
export const myTransform = (session: Session, frame: Uint8Array) => {
  const transform = decodeUpstreamTransform(frame.subarray(1));
  if (!transform) throw new MalformedFrame('a transform is 18 bytes of finite numbers');
  session.transform = transform;
  session.moved = true;
};
