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
