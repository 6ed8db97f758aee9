// The proxy end to end: the official openai client, raw HTTP for the edge cases, the real
// `aicache serve` with a real SQLite file, and a fake upstream that counts its calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startUpstream, startHost, tempDir, post, chat } from './harness.mjs';

let upstream;
let host;
let data;

before(async () => {
  upstream = await startUpstream();
  data = tempDir();
  host = await startHost({ data: data.dir, upstream: upstream.base });
});

after(async () => {
  await host?.stop();
  upstream?.stop();
  data?.remove();
});

const client = () => new OpenAI({ baseURL: host.base, apiKey: 'sk-e2e-secret', maxRetries: 0 });

test('the openai client gets a miss, then the same answer as a hit with no upstream call', async () => {
  const request = chat('What is a cache?');
  const first = await client().chat.completions.create(request).withResponse();
  assert.equal(first.response.headers.get('x-aicache'), 'miss');
  const callsAfterMiss = (await upstream.calls()).calls;
  const second = await client().chat.completions.create(request).withResponse();
  assert.equal(second.response.headers.get('x-aicache'), 'hit');
  assert.equal(second.data.choices[0].message.content, first.data.choices[0].message.content);
  assert.equal((await upstream.calls()).calls, callsAfterMiss, 'a hit must not call upstream');
  assert.equal(second.response.headers.get('x-aicache-key'), first.response.headers.get('x-aicache-key'));
});

test('streaming works unchanged: relayed on a miss, replayed on a hit, and shared with non-streamed requests', async () => {
  const request = chat('Stream the answer, please');
  const collect = async () => {
    const stream = await client().chat.completions.create({ ...request, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  };
  const before = (await upstream.calls()).calls;
  const missText = await collect();
  assert.match(missText, /^answer #\d+ to: Stream the answer, please$/);
  assert.equal((await upstream.calls()).calls, before + 1);
  const hitText = await collect();
  assert.equal(hitText, missText);
  const plain = await client().chat.completions.create(request).withResponse();
  assert.equal(plain.response.headers.get('x-aicache'), 'hit');
  assert.equal(plain.data.choices[0].message.content, missText);
  assert.equal((await upstream.calls()).calls, before + 1, 'only the first stream went upstream');
});

test('legacy completions are cached too', async () => {
  const request = { model: 'test-model', temperature: 0, prompt: 'Complete me' };
  const first = await client().completions.create(request).withResponse();
  const second = await client().completions.create(request).withResponse();
  assert.equal(first.response.headers.get('x-aicache'), 'miss');
  assert.equal(second.response.headers.get('x-aicache'), 'hit');
  assert.equal(second.data.choices[0].text, first.data.choices[0].text);
});

test('the bearer token reaches upstream and is never stored', async () => {
  await client().chat.completions.create(chat('token check'));
  assert.equal((await upstream.calls()).lastAuthorization, 'Bearer sk-e2e-secret');
  for (const file of readdirSync(data.dir)) {
    if (!file.startsWith('aicache.db')) continue;
    assert.ok(!readFileSync(path.join(data.dir, file)).includes('sk-e2e-secret'), `${file} holds the token`);
  }
});

test('opting out, sampling and tenants bypass or separate the cache', async () => {
  const request = chat('bypass me');
  await post(host, 'chat/completions', request);
  const noStore = await post(host, 'chat/completions', request, { 'cache-control': 'no-store' });
  assert.equal(noStore.headers.get('x-aicache'), 'bypass');
  const noCache = await post(host, 'chat/completions', request, { 'cache-control': 'no-cache' });
  assert.equal(noCache.headers.get('x-aicache'), 'miss', 'no-cache skips the lookup but stores the fresh answer');
  const optOut = await post(host, 'chat/completions', { ...request, aicache: { cache: false } });
  assert.equal(optOut.headers.get('x-aicache'), 'bypass');
  assert.ok(!(await upstream.calls()).log.at(-1).body.aicache, 'the aicache extension is not forwarded');

  const sampled = chat('sampled', { temperature: 0.7 });
  await post(host, 'chat/completions', sampled);
  const again = await post(host, 'chat/completions', sampled);
  assert.equal(again.headers.get('x-aicache'), 'bypass');
  assert.match(again.headers.get('x-aicache-bypass-reason'), /temperature/);

  const tenantA = await post(host, 'chat/completions', chat('tenant question'), { 'x-aicache-tenant': 'team-a' });
  const tenantB = await post(host, 'chat/completions', chat('tenant question'), { 'x-aicache-tenant': 'team-b' });
  const tenantA2 = await post(host, 'chat/completions', chat('tenant question'), { 'x-aicache-tenant': 'team-a' });
  assert.equal(tenantA.headers.get('x-aicache'), 'miss');
  assert.equal(tenantB.headers.get('x-aicache'), 'miss', 'another tenant never sees team-a answers');
  assert.equal(tenantA2.headers.get('x-aicache'), 'hit');
});

test('the key ignores what cannot change the answer and keeps what can', async () => {
  await post(host, 'chat/completions', chat('key test', { temperature: 0.0, user: 'alice' }));
  const sameKey = await post(host, 'chat/completions', chat('key test', { temperature: 0, user: 'bob' }));
  assert.equal(sameKey.headers.get('x-aicache'), 'hit');
  const otherParams = await post(host, 'chat/completions', chat('key test', { temperature: 0, max_tokens: 5 }));
  assert.equal(otherParams.headers.get('x-aicache'), 'miss');
  const followUp = await post(host, 'chat/completions', {
    model: 'test-model', temperature: 0,
    messages: [{ role: 'user', content: 'earlier' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'key test' }],
  });
  assert.equal(followUp.headers.get('x-aicache'), 'miss', 'a different conversation context is a different key');
});

test('bad requests get OpenAI-shaped errors and the host keeps serving', async () => {
  const malformed = await post(host, 'chat/completions', '{"model": ');
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.error.code, 'invalid_json');
  const noMessages = await post(host, 'chat/completions', { model: 'm' });
  assert.equal(noMessages.status, 400);
  assert.match(noMessages.json.error.message, /messages/);
  const wrongType = await fetch(`${host.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
  assert.equal(wrongType.status, 415);
  const unknown = await fetch(`${host.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, 'unknown_url');
  const getChat = await fetch(`${host.url}/v1/chat/completions`);
  assert.equal(getChat.status, 405);
  const failing = await post(host, 'chat/completions', chat('please ERROR'));
  assert.equal(failing.status, 500, 'upstream errors are relayed');
  const failingAgain = await post(host, 'chat/completions', chat('please ERROR'));
  assert.equal(failingAgain.headers.get('x-aicache'), 'miss', 'errors are not cached');
  const healthy = await fetch(`${host.url}/healthz`);
  assert.equal((await healthy.json()).status, 'ok');
});

test('a client that hangs up mid-stream leaves nothing half-written in the cache', async () => {
  const request = chat('a LONG story', { stream: true });
  const controller = new AbortController();
  const res = await fetch(`${host.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request), signal: controller.signal,
  });
  const reader = res.body.getReader();
  await reader.read();
  controller.abort();
  await new Promise((r) => setTimeout(r, 2500)); // the upstream stream would have finished by now
  const after = await post(host, 'chat/completions', { ...request, stream: false });
  assert.equal(after.headers.get('x-aicache'), 'miss');
});

test('an upstream stream that breaks off is not cached', async () => {
  const request = chat('this will BREAK soon', { stream: true });
  const res = await fetch(`${host.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  const text = await res.text().catch(() => '');
  assert.match(text, /upstream_stream_broken/, 'the client is told the stream broke off');
  const after = await post(host, 'chat/completions', { ...request, stream: false });
  assert.equal(after.headers.get('x-aicache'), 'miss');
});

test('metrics count hits, misses and tokens saved', async () => {
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1]);
  assert.ok(value('aicache_cache_hits_total\\{kind="exact"\\}') >= 4);
  assert.ok(value('aicache_cache_misses_total') >= 4);
  assert.ok(value('aicache_tokens_saved_total') > 0);
  assert.match(metrics, /aicache_upstream_latency_seconds_bucket\{le="\+Inf"\} [1-9]/);
  assert.match(metrics, /aicache_plugin_info\{kind="policy",name="s3fifo"/);
});
