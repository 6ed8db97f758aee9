// Live traffic becomes a trace: every request the proxy answers leaves a record in
// <data>/requests.arl, and `aicache replay <data>` replays exactly the requests that reached the
// cache, with the sizes they were answered with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { aicacheExe, startUpstream, startHost, tempDir, post, chat } from './harness.mjs';

const replay = (dir, ...args) =>
  JSON.parse(execFileSync(aicacheExe, ['replay', dir, '--policy', 'lru', '--json', ...args], { encoding: 'utf8' }));

test('answered requests are recorded and replay as a trace; bypassed and failed ones are not replayed', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base });
  try {
    // Three questions, asked in the order a b a c b a: three misses, then three hits.
    for (const q of ['a', 'b', 'a', 'c', 'b', 'a']) {
      const r = await post(host, 'chat/completions', chat(`question ${q}`));
      assert.equal(r.status, 200);
    }
    const sampled = await post(host, 'chat/completions', chat('sampled, so not cached', { temperature: 0.9 }));
    assert.equal(sampled.headers.get('x-aicache'), 'bypass');
    const streamed = await fetch(`${host.base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat('question a', { stream: true })),
    });
    assert.equal(streamed.headers.get('x-aicache'), 'hit');
    await streamed.text();
  } finally {
    await host.stop(); // a clean stop writes what is buffered
    upstream.stop();
  }
  try {
    const log = path.join(data.dir, 'requests.arl');
    assert.equal(statSync(log).size, 16 + 8 * 48, 'header + one 48-byte record per request');

    // Replayed at room for all three answers: the same 3 misses and 4 hits the proxy saw.
    const all = replay(data.dir, '--size', '3obj');
    assert.equal(all.trace.requests, 7, 'the bypassed request is not replayed');
    assert.equal(all.trace.objects, 3);
    const lru = all.results.find((r) => r.policy === 'lru');
    assert.equal(lru.hits, 4);
    // With room for one answer only, LRU hits only on back-to-back repeats: the stream of 'a' after 'a'.
    const one = replay(log, '--size', '1obj').results.find((r) => r.policy === 'lru');
    assert.equal(one.hits, 1);
    assert.ok(all.trace.footprint_bytes > 3 * 50, 'sizes are the answers the upstream gave');
  } finally {
    data.remove();
  }
});

test('a truncated request log is refused with the byte offset, and the host appends only whole records', async () => {
  const data = tempDir();
  try {
    const log = path.join(data.dir, 'requests.arl');
    const host = await startHost({ data: data.dir, upstream: 'http://127.0.0.1:9/v1' });
    await post(host, 'chat/completions', chat('nobody answers'));
    await host.stop();
    assert.equal(statSync(log).size, 16 + 48);
    // A failed request is recorded but is nothing to replay.
    assert.throws(() => replay(data.dir, '--size', '1obj'), /no cacheable requests/);
    execFileSync('truncate', ['-s', String(16 + 20), log]);
    assert.throws(() => replay(log, '--size', '1obj'), /truncated record at byte offset 16/);
  } finally {
    data.remove();
  }
});

test('the performance monitor keeps windows of figures that `aicache learn status` reads, the last one at shutdown', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base, args: ['--monitor-window', '1'] });
  try {
    for (const q of ['a', 'b', 'a']) assert.equal((await post(host, 'chat/completions', chat(`window question ${q}`))).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1600)); // the first window closes
    for (const q of ['a', 'b']) assert.equal((await post(host, 'chat/completions', chat(`window question ${q}`))).status, 200);
    const hit = await post(host, 'chat/completions', chat('window question a'));
    const verdict = await post(host, 'aicache/feedback', { key: hit.headers.get('x-aicache-key'), right: false });
    assert.equal(verdict.status, 200);
  } finally {
    await host.stop();
    upstream.stop();
  }
  try {
    const status = JSON.parse(execFileSync(aicacheExe, ['learn', '--data', data.dir, 'status', '--json'], { encoding: 'utf8' }));
    const windows = status.windows;
    assert.ok(windows.length >= 2, `two windows at least, got ${JSON.stringify(windows)}`);
    const total = (field) => windows.reduce((sum, w) => sum + w[field], 0);
    assert.equal(total('requests'), 6);
    assert.equal(total('misses'), 2);
    assert.equal(total('hits'), 4);
    assert.equal(total('wrong_reports'), 1);
    assert.ok(total('tokens_saved') > 0 && total('tokens_saved') < total('tokens_answered'));
    assert.equal(windows[0].requests, 3, 'the first window holds the first three requests');
    assert.ok(Math.abs(windows[0].hit_ratio - 1 / 3) < 1e-9);
    for (const w of windows) assert.ok(w.latency_p99_us >= w.latency_p50_us && w.end_us > w.start_us);
    const text = execFileSync(aicacheExe, ['learn', '--data', data.dir, 'status'], { encoding: 'utf8' });
    assert.match(text, /hit ratio/);
  } finally {
    data.remove();
  }
});
