import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './api/errors.js';

/** What Node's HTTP parser refuses before express sees a request, as status, code and message. */
const REFUSALS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request headers are too large'],
  HPE_INVALID_EOF_STATE: [
    400,
    'truncated_request',
    'the request ended before the Content-Length it declared',
  ],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'payload_too_large', 'the chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request took too long to arrive'],
};
const MALFORMED: [number, string, string] = [400, 'bad_request', 'the request is not valid HTTP'];

/**
 * Node answers such requests itself with an empty body; this answers them in the API's one error
 * shape instead. Like Node, it answers only while no response has started on the connection.
 */
export const answerClientErrorsInJson = (server: Server): Server =>
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Node keeps the response in progress on the socket; it is not part of the typed API.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] = REFUSALS[error.code ?? ''] ?? MALFORMED;
    const body = JSON.stringify(errorBody(code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
