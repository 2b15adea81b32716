/**
 * `Buffer` for the bundled PosBus client and msgpackr in the browser (injected by the bundler
 * wherever a module names the global); the `buffer` package is Node's Buffer for browsers.
 */
export { Buffer } from 'buffer';
