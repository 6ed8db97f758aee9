// What happens when things around the proxy fail: upstream down or slow, oversize bodies, a full
// disk, and restarts (clean and SIGKILL) that must keep every acknowledged answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startUpstream, startHost, tempDir, post, chat } from './harness.mjs';

test('upstream down or too slow gives 502 with an OpenAI-shaped error', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: 'http://127.0.0.1:9/v1', args: ['--upstream-timeout', '1'] });
  const slowHost = await startHost({ data: tempDir().dir, upstream: upstream.base, args: ['--upstream-timeout', '1'] });
  try {
    const down = await post(host, 'chat/completions', chat('anyone there?'));
    assert.equal(down.status, 502);
    assert.equal(down.json.error.type, 'upstream_error');
    assert.equal(down.json.error.code, 'upstream_unavailable');
    const slow = await post(slowHost, 'chat/completions', chat('a SLOW answer'));
    assert.equal(slow.status, 502);
    assert.equal(slow.json.error.code, 'upstream_timeout');
    const stillUp = await fetch(`${slowHost.url}/healthz`);
    assert.equal(stillUp.status, 200);
  } finally {
    await host.stop();
    await slowHost.stop();
    upstream.stop();
    data.remove();
  }
});

test('bodies over the configured limit are refused with 413', async () => {
  const data = tempDir();
  const host = await startHost({ data: data.dir, upstream: 'http://127.0.0.1:9/v1', args: ['--max-body', '1KiB'] });
  try {
    const big = await post(host, 'chat/completions', chat('x'.repeat(4096)));
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'request_too_large');
  } finally {
    await host.stop();
    data.remove();
  }
});

test('a full store serves uncached, says why, and keeps running', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base, args: ['--store-max', '160KiB'] });
  try {
    let failed = null;
    for (let i = 0; i < 200 && !failed; i++) {
      const r = await post(host, 'chat/completions', chat(`fill ${i} ${'y'.repeat(2000)}`));
      assert.equal(r.status, 200, 'the answer is served even when it cannot be stored');
      if (r.headers.get('x-aicache-store')) failed = r;
    }
    assert.ok(failed, 'the store filled up');
    assert.match(failed.headers.get('x-aicache-store'), /full/i);
    const health = await (await fetch(`${host.url}/healthz`)).json();
    assert.match(health.store, /degraded/);
    const again = await post(host, 'chat/completions', chat('fill 0 ' + 'y'.repeat(2000)));
    assert.equal(again.headers.get('x-aicache'), 'hit', 'what was stored before the disk filled is still served');
  } finally {
    await host.stop();
    upstream.stop();
    data.remove();
  }
});

test('killing the host with SIGKILL 20 times loses no acknowledged answer', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const acknowledged = [];
  try {
    for (let round = 0; round < 20; round++) {
      const host = await startHost({ data: data.dir, upstream: upstream.base });
      // Every answer acknowledged before earlier kills must be a hit now, with no upstream call.
      const callsBefore = (await upstream.calls()).calls;
      for (const prompt of acknowledged.slice(-10)) {
        const r = await post(host, 'chat/completions', chat(prompt));
        assert.equal(r.headers.get('x-aicache'), 'hit', `round ${round}: "${prompt}" was acknowledged but is gone`);
      }
      assert.equal((await upstream.calls()).calls, callsBefore);
      // Writers in flight; the kill lands at a random moment among them.
      const writers = Array.from({ length: 8 }, (_, i) => (async () => {
        const prompt = `round ${round} writer ${i}`;
        try {
          const r = await post(host, 'chat/completions', chat(prompt));
          if (r.status === 200 && r.headers.get('x-aicache') === 'miss' && !r.headers.get('x-aicache-store')) acknowledged.push(prompt);
        } catch {}
      })());
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 40)));
      await host.kill();
      await Promise.all(writers);
    }
    const host = await startHost({ data: data.dir, upstream: upstream.base });
    for (const prompt of acknowledged) {
      const r = await post(host, 'chat/completions', chat(prompt));
      assert.equal(r.headers.get('x-aicache'), 'hit', `"${prompt}" was acknowledged but is gone`);
    }
    await host.stop();
    const check = execFileSync('sqlite3', [path.join(data.dir, 'aicache.db'), 'PRAGMA integrity_check;']).toString().trim();
    assert.equal(check, 'ok');
    assert.ok(acknowledged.length >= 20, `only ${acknowledged.length} answers were acknowledged across the rounds`);
  } finally {
    upstream.stop();
    data.remove();
  }
});

test('answers expire by their own TTL, their namespace\'s, or the default', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base, args: ['--default-ttl', '1', '--tenant-ttl', 'keep=600'] });
  try {
    const plain = chat('ttl default');
    const kept = chat('ttl tenant');
    const own = chat('ttl own', { aicache: { ttl: 1 } });
    await post(host, 'chat/completions', plain);
    await post(host, 'chat/completions', kept, { 'x-aicache-tenant': 'keep' });
    await post(host, 'chat/completions', own, { 'x-aicache-tenant': 'keep' });
    assert.equal((await post(host, 'chat/completions', plain)).headers.get('x-aicache'), 'hit');
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await post(host, 'chat/completions', plain)).headers.get('x-aicache'), 'miss', 'the default TTL of 1 s passed');
    assert.equal((await post(host, 'chat/completions', kept, { 'x-aicache-tenant': 'keep' })).headers.get('x-aicache'), 'hit');
    assert.equal((await post(host, 'chat/completions', own, { 'x-aicache-tenant': 'keep' })).headers.get('x-aicache'), 'miss',
      'a request\'s own TTL wins over its namespace\'s');
  } finally {
    await host.stop();
    upstream.stop();
    data.remove();
  }
});

test('a data directory that cannot be written serves uncached and says why', async () => {
  const upstream = await startUpstream();
  const host = await startHost({ data: '/proc/aicache-cannot-write-here', upstream: upstream.base });
  try {
    const first = await post(host, 'chat/completions', chat('no disk for me'));
    assert.equal(first.status, 200);
    assert.match(first.headers.get('x-aicache-store'), /not usable/);
    const second = await post(host, 'chat/completions', chat('no disk for me'));
    assert.equal(second.headers.get('x-aicache'), 'miss', 'nothing was stored');
    const health = await (await fetch(`${host.url}/healthz`)).json();
    assert.match(health.store, /degraded: data directory \/proc\/aicache-cannot-write-here is not usable/);
  } finally {
    await host.stop();
    upstream.stop();
  }
});
