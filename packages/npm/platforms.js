#!/usr/bin/env node
'use strict';
// The platform packages of the npm distribution (the esbuild/biome pattern): one package per
// os/cpu holding only the binary, each an optional dependency of `particle-auth-mock`, so npm
// installs just the one that matches the machine. This table is the one list of them; the
// release workflow and scripts/test-packages.sh build them from it.
//
//   node platforms.js check                         optionalDependencies and versions agree
//   node platforms.js make NAME BINARY OUTDIR       lay out package NAME (e.g. linux-x64) in OUTDIR
//   node platforms.js list                          NAME RUST_TARGET per line
const fs = require('node:fs');
const path = require('node:path');

const SCOPE = '@particle-auth-mock';
/** npm platform name → [process.platform, process.arch, Rust target triple]. */
const PLATFORMS = {
	'linux-x64': ['linux', 'x64', 'x86_64-unknown-linux-gnu'],
	'linux-arm64': ['linux', 'arm64', 'aarch64-unknown-linux-gnu'],
	'darwin-x64': ['darwin', 'x64', 'x86_64-apple-darwin'],
	'darwin-arm64': ['darwin', 'arm64', 'aarch64-apple-darwin'],
	'win32-x64': ['win32', 'x64', 'x86_64-pc-windows-msvc'],
};

const main = require('./package.json');

function cargoVersion() {
	const toml = fs.readFileSync(path.join(__dirname, '..', '..', 'Cargo.toml'), 'utf8');
	const m = /^\[package\][^[]*?^version\s*=\s*"([^"]+)"/m.exec(toml);
	if (!m) throw new Error('no [package] version in Cargo.toml');
	return m[1];
}

function check() {
	const problems = [];
	const version = cargoVersion();
	if (main.version !== version) problems.push(`package.json version ${main.version} != Cargo.toml ${version}`);
	const wanted = Object.keys(PLATFORMS).map((n) => `${SCOPE}/${n}`).sort();
	const have = Object.keys(main.optionalDependencies || {}).sort();
	if (JSON.stringify(wanted) !== JSON.stringify(have)) problems.push(`optionalDependencies ${have} != ${wanted}`);
	for (const [dep, v] of Object.entries(main.optionalDependencies || {})) {
		if (v !== version) problems.push(`${dep}@${v}: expected exactly ${version}`);
	}
	if (problems.length) {
		for (const p of problems) console.error(`npm platforms: ${p}`);
		process.exit(1);
	}
	console.log(`npm platforms: ${have.length} platform packages at ${version}, consistent`);
}

function make(name, binary, outdir) {
	const spec = PLATFORMS[name];
	if (!spec) throw new Error(`unknown platform ${name} (known: ${Object.keys(PLATFORMS).join(', ')})`);
	const [os, cpu] = spec;
	const exe = os === 'win32' ? 'particle-auth-mock.exe' : 'particle-auth-mock';
	fs.mkdirSync(path.join(outdir, 'bin'), { recursive: true });
	fs.copyFileSync(binary, path.join(outdir, 'bin', exe));
	fs.chmodSync(path.join(outdir, 'bin', exe), 0o755);
	const pkg = {
		name: `${SCOPE}/${name}`,
		version: main.version,
		description: `The ${os} ${cpu} binary of particle-auth-mock (installed by the particle-auth-mock package)`,
		license: main.license,
		repository: main.repository,
		os: [os],
		cpu: [cpu],
		files: [`bin/${exe}`],
		preferUnplugged: true,
	};
	fs.writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
	fs.writeFileSync(path.join(outdir, 'README.md'),
		`# ${pkg.name}\n\nThe ${os}/${cpu} binary of [particle-auth-mock](https://www.npmjs.com/package/particle-auth-mock).\nInstall \`particle-auth-mock\`, not this package: it picks the right platform package itself.\n`);
}

const [cmd, ...args] = process.argv.slice(2);
if (require.main === module) {
	if (cmd === 'check') check();
	else if (cmd === 'make' && args.length === 3) make(...args);
	else if (cmd === 'list') for (const [n, s] of Object.entries(PLATFORMS)) console.log(`${n} ${s[2]}`);
	else { console.error('usage: platforms.js check | make NAME BINARY OUTDIR | list'); process.exit(2); }
}

module.exports = { PLATFORMS, SCOPE };
