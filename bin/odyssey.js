#!/usr/bin/env node
// The command runs the TypeScript sources through tsx, so `npm start` needs no build step.
// Production images run the compiled `dist/cli/main.js` instead (see Dockerfile).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
