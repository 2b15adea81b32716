import { randomUUID } from 'node:crypto';
import { ClientOp, CloseCode, MalformedFrame } from '../../client/wire/protocol.js';
import type { Connection, ConnectionHandlers } from './connection.js';
import { dispatch, reportFailure } from './handlers/dispatch.js';
import type { HandlerContext } from './handlers/handler.js';
import { myTransform } from './handlers/my-transform.js';
import { newSession, type Session } from './session.js';

/** The sessions of this gateway, and the leaves still being recorded (stopping waits for them). */
export interface SessionTable {
  sessions: Set<Session>;
  closing: Set<Promise<unknown>>;
}

/**
 * A new connection becomes a session: it must say hello in time, may send so many messages a
 * second, and its messages are handled one at a time, in the order they came. Closing leaves
 * its world.
 */
export const acceptConnection =
  (ctx: HandlerContext, table: SessionTable) =>
  (connection: Connection): ConnectionHandlers => {
    const { counters, options } = ctx;
    const session: Session = newSession(randomUUID(), connection, ctx.nextIndex());
    table.sessions.add(session);
    const handshake = setTimeout(() => {
      if (session.stage === 'greeting')
        connection.close(CloseCode.handshakeTimeout, 'no hello in time');
    }, options.handshakeTimeoutMs);
    let queue = Promise.resolve();
    return {
      message: (frame, isBinary) => {
        counters.messagesIn++;
        counters.bytesIn += frame.byteLength;
        const second = Math.floor(Date.now() / 1000);
        if (session.messages.second !== second) session.messages = { second, count: 0 };
        if (++session.messages.count > options.maxMessagesPerSecond) {
          counters.kicks++;
          connection.close(CloseCode.tooManyMessages, 'too many messages');
          return;
        }
        // Positions are most of the traffic and need nothing asynchronous: taken at once, with
        // no promise per message. They are ephemeral, so overtaking a queued command is harmless.
        if (isBinary && session.stage !== 'greeting' && frame[0] === ClientOp.myTransform) {
          try {
            myTransform(session, frame);
          } catch (error) {
            reportFailure(ctx, session, error);
          }
          return;
        }
        queue = queue
          .then(async () => {
            try {
              if (!isBinary || frame.byteLength === 0)
                throw new MalformedFrame('frames are binary');
              await dispatch(ctx, session, frame);
            } catch (error) {
              reportFailure(ctx, session, error);
            }
          })
          .catch((error: unknown) =>
            ctx.log.error({ err: error }, 'PosBus message handling failed'),
          );
      },
      closed: () => {
        clearTimeout(handshake);
        table.sessions.delete(session);
        if (session.userId !== undefined && ctx.byUser.get(session.userId) === session)
          ctx.byUser.delete(session.userId);
        const leaving = queue.then(() => ctx.rooms.leave(session, !session.replaced));
        table.closing.add(leaving);
        void leaving.finally(() => table.closing.delete(leaving));
      },
    };
  };
