// New policy parameters reach a running host the safe way: on a canary share of the shards,
// judged against the other shards on live traffic, then promoted to every shard and kept for the
// next start, or rolled back at once; every step is in the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { aicacheExe, startUpstream, startHost, tempDir, post, chat, until } from './harness.mjs';

const learn = (dir, ...args) => execFileSync(aicacheExe, ['learn', '--data', dir, ...args], { encoding: 'utf8' });
const canary = (dir) => JSON.parse(learn(dir, 'canary'));

async function traffic(host, rounds) {
  for (let round = 0; round < rounds; ++round)
    for (let q = 0; q < 12; ++q) assert.equal((await post(host, 'chat/completions', chat(`canary question ${q}`))).status, 200);
}


test('parameters go on canary, are promoted or rolled back by live traffic, and promoted ones are served after a restart', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  let host = await startHost({ data: data.dir, upstream: upstream.base });
  try {
    await traffic(host, 1);
    // A margin no canary can miss: promoted once both sides saw 5 lookups.
    const applied = JSON.parse(learn(data.dir, 'apply', '--policy-parameters', '{"small_ratio": 0.05}', '--window', '5', '--margin', '100'));
    assert.deepEqual(applied.parameters, { small_ratio: 0.05 });
    assert.equal(applied.shards.length, 1, 'a quarter of 4 shards');
    assert.ok(canary(data.dir).canary, 'on canary until judged');
    await traffic(host, 3);
    await until(() => !canary(data.dir).canary, 'the verdict', 10);
    assert.deepEqual(canary(data.dir).parameters, { small_ratio: 0.05 }, 'promoted to every shard');
    assert.match(canary(data.dir).last_event, /promoted/);

    // A margin no canary can meet stands in for a change that hurts: rolled back at once.
    learn(data.dir, 'apply', '--policy-parameters', '{"small_ratio": 0.3}', '--window', '5', '--margin', '-100');
    await traffic(host, 3);
    await until(() => !canary(data.dir).canary, 'the rollback', 10);
    assert.match(canary(data.dir).last_event, /rolled back/);
    assert.deepEqual(canary(data.dir).parameters, { small_ratio: 0.05 }, 'the other shards never changed');

    // Parameters the policy refuses change nothing.
    const refused = spawnSync(aicacheExe, ['learn', '--data', data.dir, 'apply', '--policy-parameters', '{"small_ratio": 7}'], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /small_ratio must be in \(0, 1\)/);
    assert.equal(canary(data.dir).canary, undefined);
  } finally {
    await host.stop();
  }
  try {
    const audit = execFileSync(aicacheExe, ['audit', 'log', '--data', data.dir], { encoding: 'utf8' });
    for (const action of ['parameters-canary', 'parameters-promote', 'parameters-rollback']) assert.match(audit, new RegExp(action));
    host = await startHost({ data: data.dir, upstream: upstream.base });
    assert.deepEqual(canary(data.dir).parameters, { small_ratio: 0.05 }, 'the promoted parameters after a restart');
    await host.stop();
  } finally {
    upstream.stop();
    data.remove();
  }
});

test('serve --learn-every runs learning cycles on its own, recorded with their trigger and reason', async () => {
  const data = tempDir();
  const upstream = await startUpstream();
  const host = await startHost({ data: data.dir, upstream: upstream.base, args: ['--learn-every', '1', '--learn-on-drift', '--monitor-window', '1'] });
  try {
    await traffic(host, 2);
    await until(() => JSON.parse(learn(data.dir, 'history', '--json')).length > 0, 'a scheduled cycle', 10);
    // Cycles run on CPU time the data plane leaves: their thread alone is SCHED_IDLE (policy 5,
    // the 41st field of /proc's stat), the data plane's threads keep the normal policy (0).
    const policies = readdirSync(`/proc/${host.child.pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${host.child.pid}/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
    });
    assert.equal(policies.filter((p) => p === 5).length, 1, `scheduling policies of the host's threads: ${policies}`);
    assert.ok(policies.every((p) => p === 5 || p === 0), `scheduling policies of the host's threads: ${policies}`);
  } finally {
    await host.stop();
    upstream.stop();
  }
  try {
    const cycles = JSON.parse(learn(data.dir, 'history', '--json'));
    const scheduled = cycles.find((c) => c.trigger === 'schedule');
    assert.ok(scheduled, JSON.stringify(cycles));
    assert.equal(scheduled.decision, 'skip');
    assert.match(scheduled.why, /fewer than the 2000 a cycle needs/);
  } finally {
    data.remove();
  }
});
