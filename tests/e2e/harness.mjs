// Starts the real processes the end-to-end tests need: the fake upstream and `aicache serve`
// on free loopback ports with a fresh data directory, and stops them.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const aicacheExe = process.env.AICACHE_EXE ?? path.join(here, '..', '..', 'build', 'bin', 'aicache');

function waitForLine(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 30 s; output:\n${seen}`)), 30000);
    const onData = (chunk) => {
      seen += chunk.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => (seen += c.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready; output:\n${seen}`));
    });
  });
}

export async function startUpstream() {
  const child = spawn(process.execPath, [path.join(here, 'fake_upstream.mjs'), '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /listening (\d+)/, 'fake upstream');
  const url = `http://127.0.0.1:${m[1]}`;
  return {
    url,
    base: `${url}/v1`,
    async calls() {
      return (await (await fetch(`${url}/calls`)).json());
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}

// Every data directory made here is removed when the test file's process ends, passed or not
// (a learning host's directory holds checkpoints of 100+ MB); AICACHE_KEEP_E2E_DATA=1 keeps them
// to look at after a failure.
const madeDirs = new Set();
process.on('exit', () => {
  if (process.env.AICACHE_KEEP_E2E_DATA) {
    if (madeDirs.size > 0) console.error(`kept test data: ${[...madeDirs].join(' ')}`);
    return;
  }
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'aicache-e2e-'));
  madeDirs.add(dir);
  return {
    dir,
    remove: () => {
      if (process.env.AICACHE_KEEP_E2E_DATA) return;
      rmSync(dir, { recursive: true, force: true });
      madeDirs.delete(dir);
    },
  };
}

export async function startHost({ data, upstream, args = [] }) {
  const argv = ['serve', '--data', data, '--listen', '127.0.0.1:0', '--no-watch', '--capacity', '64MiB', '--shards', '4', ...args];
  if (upstream) argv.push('--upstream', upstream);
  const child = spawn(aicacheExe, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c.toString()));
  child.stderr.on('data', (c) => (output += c.toString()));
  const m = await waitForLine(child, /serving http:\/\/127\.0\.0\.1:(\d+)/, 'aicache serve');
  const url = `http://127.0.0.1:${m[1]}`;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    url,
    base: `${url}/v1`,
    child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function post(host, endpoint, body, headers = {}) {
  const res = await fetch(`${host.url}/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

export function chat(content, extra = {}) {
  return { model: 'test-model', temperature: 0, messages: [{ role: 'user', content }], ...extra };
}

// Polls `check` every 100 ms until it holds; fails naming `what` after `seconds`, and what
// `state()` says then, when given.
export async function until(check, what, seconds = 15, state) {
  for (let i = 0; i < seconds * 10; ++i) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}` + (state ? `: ${state()}` : ''));
}
