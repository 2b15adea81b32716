import {
  CloseCode,
  decodeBody,
  encode,
  idField,
  PROTOCOL_VERSION,
  ServerOp,
  type Hello,
} from '../../../client/wire/protocol.js';
import { signIn, type Greeting, type SignedIn } from '../session.js';
import type { HandlerContext } from './handler.js';

/** The user signed in again, here or on another gateway: the older connection goes. */
export const replace = async (
  ctx: HandlerContext,
  previous: SignedIn,
  resumeWorldId: string | undefined,
) => {
  ctx.outbox.send(previous.connection, encode(ServerOp.signal, { kind: 'replaced' }));
  // Still there, if the new connection resumes in the same world; else gone from it.
  const staying = resumeWorldId !== undefined && resumeWorldId === previous.room?.id;
  await ctx.rooms.leave(previous, !staying);
  previous.replaced = true;
  previous.connection.close(CloseCode.replaced, 'signed in elsewhere');
};

/**
 * The first message: `{ version, token, resume? }`. A valid token signs the session in (and
 * replaces the user's older connection); a resume joins the world again from a position.
 */
export const hello = async (ctx: HandlerContext, session: Greeting, frame: Uint8Array) => {
  const body = decodeBody<Partial<Hello>>(frame);
  if (body.version !== PROTOCOL_VERSION) {
    session.connection.close(
      CloseCode.unsupportedVersion,
      `this server speaks version ${PROTOCOL_VERSION}`,
    );
    return;
  }
  // A resume names the world and the last position seen; anything else is a malformed frame.
  const resume = body.resume
    ? {
        worldId: idField(body.resume as Record<string, unknown>, 'worldId'),
        position: idField(body.resume as Record<string, unknown>, 'position'),
      }
    : undefined;
  const caller = await ctx.tokens.verify(String(body.token)).catch(() => undefined);
  if (!caller || !(await ctx.commands.userIsActive(caller.userId))) {
    session.connection.close(CloseCode.badToken, 'invalid or expired token');
    return;
  }
  // The socket may have closed while the token was checked: it must not replace anyone.
  if (!session.connection.isOpen) return;
  const signedIn = signIn(session, {
    userId: caller.userId,
    auth: caller.auth,
    signedInAt: Date.now(),
  });
  const previous = ctx.byUser.get(caller.userId);
  ctx.byUser.set(caller.userId, signedIn);
  ctx.relay.announceSignIn(caller.userId, resume?.worldId, signedIn.signedInAt);
  if (previous) await replace(ctx, previous, resume?.worldId);
  ctx.outbox.send(
    signedIn.connection,
    encode(ServerOp.welcome, {
      version: PROTOCOL_VERSION,
      userId: caller.userId,
      sessionId: signedIn.id,
    }),
  );
  if (resume) await ctx.rooms.join(signedIn, resume.worldId, resume.position);
};
