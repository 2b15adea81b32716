#!/usr/bin/env node
// Production images run the compiled `dist/cli/main.js` instead (see Dockerfile).
import { compiledEntry } from './compiled.js';

await import(await compiledEntry('cli/main'));
