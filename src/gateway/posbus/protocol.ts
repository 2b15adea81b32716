// The wire protocol is shared with the client and lives with it (src/client/wire): the server's
// modules may name it here.
export * from '../../client/wire/protocol.js';
