import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './api/errors.js';

/** What node's HTTP parser refuses before express sees a request, in the API's own terms. */
const answerOf = (code: string | undefined): [number, string, string] => {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'headers_too_large', 'the request headers are too large'];
    case 'HPE_INVALID_EOF_STATE':
      return [400, 'truncated_request', 'the request ended before the Content-Length it declared'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request_timeout', 'the request took too long to arrive'];
    default:
      return [400, 'bad_request', 'the request is not valid HTTP'];
  }
};

/** The response node is writing on this socket, if any (node keeps it there, untyped). */
interface HttpSocket extends Duplex {
  _httpMessage?: { headersSent?: boolean };
}

/**
 * Answers requests that node's parser refuses (a body shorter than its Content-Length, headers
 * too large) with the JSON error shape, where node would send a bare status line.
 */
export const answerClientErrorsAsJson = (server: Server) => {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: HttpSocket) => {
    if (error.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] = answerOf(error.code);
    const body = JSON.stringify(errorBody(code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  });
};
