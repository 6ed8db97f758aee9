// A small OpenAI-compatible upstream for the tests: deterministic answers, streaming and not,
// and a count of the calls it served, so a test can prove a cache hit made no upstream call.
// Prompts steer it: "SLOW" delays 3 s, "ERROR" answers 500, "BREAK" drops a stream half-way,
// "LONG" streams 200 pieces over ~2 s, "TOPIC=word" answers the same text to every question that
// names the same topic (so paraphrases get one answer, as from a real model at temperature 0).
// Usage: node fake_upstream.mjs [port]   (prints "listening PORT" when ready)
import http from 'node:http';

let calls = 0;
let lastAuthorization = null;
const log = [];

function lastUserText(body) {
  if (Array.isArray(body.messages)) {
    const users = body.messages.filter((m) => m.role === 'user');
    const last = users[users.length - 1];
    return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  }
  return String(body.prompt ?? '');
}

function answerText(body) {
  const topic = lastUserText(body).match(/TOPIC=(\w+)/)?.[1];
  if (topic) return `the one answer about ${topic}: use the standard library's sorted function with a key`;
  const text = `answer #${calls} to: ${lastUserText(body)}`;
  // "SIZE=N" pads the answer to N characters, for benchmarks with realistic answer sizes.
  const size = Number(text.match(/SIZE=(\d+)/)?.[1] ?? 0);
  return size > text.length ? text + ' ' + 'x'.repeat(size - text.length - 1) : text;
}

function json(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', async () => {
    if (req.method === 'GET' && req.url === '/calls') return json(res, 200, { calls, lastAuthorization, log });
    if (req.method !== 'POST') return json(res, 404, { error: { message: 'not found' } });
    const chat = req.url.endsWith('/chat/completions');
    if (!chat && !req.url.endsWith('/completions')) return json(res, 404, { error: { message: `no route ${req.url}` } });
    const body = JSON.parse(raw);
    calls += 1;
    lastAuthorization = req.headers.authorization ?? null;
    log.push({ url: req.url, body });
    const text = answerText(body);
    if (text.includes('SLOW')) await new Promise((r) => setTimeout(r, 3000));
    if (text.includes('ERROR')) return json(res, 500, { error: { message: 'the test upstream failed on purpose', type: 'server_error' } });
    const id = `cmpl-${calls}`;
    const created = 1700000000 + calls;
    const usage = { prompt_tokens: 7, completion_tokens: text.split(' ').length, total_tokens: 7 + text.split(' ').length };
    if (!body.stream) {
      const choice = chat
        ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }
        : { index: 0, text, finish_reason: 'stop', logprobs: null };
      return json(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: body.model, choices: [choice], usage });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    const head = { id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: body.model };
    // "LONG" prompts stream for ~2 s, so a test can hang up in the middle.
    const pieces = text.includes('LONG') ? Array.from({ length: 200 }, (_, i) => `w${i} `) : (text.match(/.{1,8}/g) ?? ['']);
    if (chat) send({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (let i = 0; i < pieces.length; i++) {
      if (text.includes('BREAK') && i === Math.floor(pieces.length / 2)) {
        res.socket.destroy();
        return;
      }
      send(chat ? { ...head, choices: [{ index: 0, delta: { content: pieces[i] }, finish_reason: null }] }
                : { ...head, choices: [{ index: 0, text: pieces[i], finish_reason: null }] });
      await new Promise((r) => setTimeout(r, text.includes('LONG') ? 10 : 2));
    }
    send(chat ? { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }
              : { ...head, choices: [{ index: 0, text: '', finish_reason: 'stop' }] });
    if (body.stream_options?.include_usage) send({ ...head, choices: [], usage });
    res.write('data: [DONE]\n\n');
    res.end();
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
