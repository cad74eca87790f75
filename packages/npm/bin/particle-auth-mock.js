#!/usr/bin/env node
'use strict';
// `npx particle-auth-mock [OPTIONS]`: runs the binary with the same arguments and stdio, and
// exits with its status. Signals sent to this process are passed on.
const { spawn } = require('node:child_process');
const { binaryPath } = require('..');

let bin;
try {
	bin = binaryPath();
} catch (e) {
	console.error(e.message);
	process.exit(1);
}
const child = spawn(bin, process.argv.slice(2), { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('error', (e) => { console.error(`particle-auth-mock: ${e.message}`); process.exit(1); });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (require('node:os').constants.signals[signal] ?? 0) : 1)));
