#!/usr/bin/env node
import { runCli } from './program.js';
import { rawArguments } from './rawArguments.js';

// Setting the exit code, rather than calling process.exit(), lets buffered output drain first.
process.exitCode = await runCli(process.argv, rawArguments());
