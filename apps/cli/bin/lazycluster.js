#!/usr/bin/env node
// The command lives in dist/ (built with `pnpm build`); this file only starts it.
import { runCli } from '../dist/main.js';

await runCli();
