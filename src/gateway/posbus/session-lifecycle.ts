import { randomUUID } from 'node:crypto';
import { ClientOp, CloseCode, MalformedFrame } from '../../client/wire/protocol.js';
import { RATE_BUDGETS, RATE_LIMITED, rateClassOf } from '../../client/wire/rate-budgets.js';
import type { Connection, ConnectionHandlers } from './connection.js';
import { dispatch, reportFailure } from './handlers/dispatch.js';
import type { HandlerContext } from './handlers/handler.js';
import { acknowledge } from './handlers/ack.js';
import { myTransform } from './handlers/my-transform.js';
import { admitMessage } from './rate-limiter.js';
import { newSession, type Session } from './session.js';

/** The sessions of this gateway, and the leaves still being recorded (stopping waits for them). */
export interface SessionTable {
  sessions: Set<Session>;
  closing: Set<Promise<unknown>>;
}

/**
 * A new connection becomes a session: it must say hello in time, keeps to a message budget per
 * class (rate-budgets.ts: over budget is dropped with a warning, far over it closes), and its messages are handled one at a time, in the order they came. Closing leaves
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
        const op = frame[0];
        const kind = op === undefined ? undefined : rateClassOf.get(op);
        // Unknown types are malformed frames (dispatch says so) and count towards that limit.
        if (kind) {
          const verdict = admitMessage(session.rate, kind, Date.now());
          if (verdict === 'close') {
            counters.kicks++;
            connection.close(CloseCode.tooManyMessages, `too many ${kind} messages`);
            return;
          }
          if (verdict !== 'take') {
            counters.droppedMessages++;
            if (verdict === 'dropAndWarn')
              ctx.outbox.sendError(
                connection,
                RATE_LIMITED,
                `${kind} messages over budget (${RATE_BUDGETS[kind].perSecond}/s, burst ${RATE_BUDGETS[kind].burst}): dropped`,
              );
            return;
          }
        }
        // Positions and acks are most of the traffic and need nothing asynchronous: taken at
        // once, with no promise per message. They are ephemeral, so overtaking a queued command
        // is harmless.
        if (
          isBinary &&
          session.stage !== 'greeting' &&
          (op === ClientOp.myTransform || op === ClientOp.ack)
        ) {
          try {
            if (op === ClientOp.myTransform) myTransform(session, frame);
            else acknowledge(ctx, session, frame);
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
