// The console's JSON API without a browser: bad input gets a 4xx with the reason (the broker keeps
// serving), mutations need the CSRF header, JSON and a same-origin Origin, bodies and results are
// bounded; configs are edited with IncrementalAlterConfigs; `fjord console` serves the same API
// for a cluster it reaches through the client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../../src/index.js';
import { startConsoleServer, startFjordConsole } from './server.js';

const mutate = { 'x-fjord-console': '1', 'content-type': 'application/json' };

describe('console API', () => {
  let srv: Awaited<ReturnType<typeof startConsoleServer>>;
  before(async () => {
    srv = await startConsoleServer(['--console-max-records', '5', '--console-scan-limit', '7']);
  });
  after(async () => {
    await srv?.stop();
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = mutate) => {
    const res = await fetch(`${srv.url}api/${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('mutations need the header, JSON and no foreign origin', async () => {
    assert.equal((await call('POST', 'topics', { name: 'a' }, { 'content-type': 'application/json' })).status, 403);
    assert.equal((await call('POST', 'topics', { name: 'a' }, { 'x-fjord-console': '1', 'content-type': 'text/plain' })).status, 415);
    const foreign = await call('POST', 'topics', { name: 'a' }, { ...mutate, origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);
    assert.match(String(foreign.body.error), /another origin/);
    assert.equal((await call('GET', 'topics/a', undefined, {})).status, 404, 'nothing was created');
  });

  test('bad input answers 4xx with the reason and the console keeps serving', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', 'topics', '{not json', 400, /not valid JSON/],
      ['POST', 'topics', '[1]', 400, /JSON object/],
      ['POST', 'topics', { name: 'bad name!' }, 400, /topic name/],
      ['POST', 'topics', { name: 'x', partitions: 0 }, 400, /partitions must be a whole number from 1/],
      ['POST', 'topics', { name: 'x', configs: { 'retention.ms': 5 } }, 400, /string value/],
      ['POST', 'topics', { name: 'x', configs: { 'no.such.setting': '1' } }, 400, /INVALID_CONFIG/],
      ['GET', 'topics/nope', undefined, 404, /does not exist/],
      ['GET', 'topics/nope/partitions/0/messages', undefined, 404, /does not exist/],
      ['GET', 'nothing-here', undefined, 404, /no API/],
      ['PUT', 'topics', {}, 405, /not allowed/],
      ['POST', 'groups/g/reset', { topic: 'x', to: 'yesterday' }, 400, /earliest, latest, offset or timestamp/],
      ['GET', 'topics/%ZZ', undefined, 400, /percent-encoding/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await call(method, path, body, method === 'GET' ? {} : mutate);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body.error), message);
    }
    const big = await fetch(`${srv.url}api/topics`, { method: 'POST', headers: mutate, body: JSON.stringify({ name: 'x', pad: 'x'.repeat(1024 * 1024) }) });
    assert.equal(big.status, 413);
    assert.equal((await call('GET', 'overview', undefined, {})).status, 200);
  });

  test('records returned and records scanned are bounded, and the answer says where it stopped', async () => {
    assert.equal((await call('POST', 'topics', { name: 'bounded', partitions: 1 })).status, 200);
    const again = await call('POST', 'topics', { name: 'bounded', partitions: 1 });
    assert.equal(again.status, 409);
    assert.match(String(again.body.error), /already exists/);
    for (let i = 0; i < 12; i++) assert.equal((await call('POST', 'topics/bounded/messages', { key: `k${i}`, value: i === 10 ? 'needle' : `hay ${i}` })).status, 200);
    const tooMany = await call('GET', 'topics/bounded/partitions/0/messages?from=offset&offset=0&limit=6', undefined, {});
    assert.equal(tooMany.status, 400);
    assert.match(String(tooMany.body.error), /limit must be a whole number from 1 to 5/);
    const first = await call('GET', 'topics/bounded/partitions/0/messages?from=offset&offset=0&limit=5', undefined, {});
    assert.equal((first.body.records as unknown[]).length, 5);
    assert.equal(first.body.stoppedBy, 'limit');
    const newest = await call('GET', 'topics/bounded/partitions/0/messages?from=newest&limit=2', undefined, {});
    assert.deepEqual((newest.body.records as { offset: string }[]).map((r) => r.offset), ['10', '11']);
    // The needle is at offset 10; the scan limit (7) stops the search before it, and says so.
    const search = await call('GET', 'topics/bounded/partitions/0/messages?from=offset&offset=0&search=needle', undefined, {});
    assert.equal((search.body.records as unknown[]).length, 0);
    assert.equal(search.body.stoppedBy, 'scan-limit');
    assert.equal(search.body.scanned, 7);
    const later = await call('GET', `topics/bounded/partitions/0/messages?from=offset&offset=${search.body.nextOffset}&search=needle`, undefined, {});
    assert.deepEqual((later.body.records as { offset: string }[]).map((r) => r.offset), ['10']);
    // From a timestamp: everything written since a moment ago.
    const since = await call('GET', `topics/bounded/partitions/0/messages?from=timestamp&timestamp=${new Date(Date.now() - 60_000).toISOString()}&limit=5`, undefined, {});
    assert.equal((since.body.records as { offset: string }[])[0].offset, '0');
  });

  test('configs are set and removed one by one (IncrementalAlterConfigs); the other overrides stay', async () => {
    assert.equal((await call('POST', 'topics', { name: 'tuned', configs: { 'retention.ms': '600000' } })).status, 200);
    assert.equal((await call('POST', 'topics/tuned/configs', { set: { 'max.message.bytes': '65536' } })).status, 200);
    const value = async (name: string) => ((await call('GET', 'topics/tuned', undefined, {})).body.configs as { name: string; value: string; source: number }[]).find((c) => c.name === name);
    assert.equal((await value('retention.ms'))?.value, '600000', 'the earlier override stays');
    assert.equal((await value('max.message.bytes'))?.value, '65536');
    assert.equal((await call('POST', 'topics/tuned/configs', { delete: ['retention.ms'] })).status, 200);
    assert.notEqual((await value('retention.ms'))?.source, 1, 'back to the default');
    const bad = await call('POST', 'topics/tuned/configs', { set: { 'retention.ms': 'soon' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /INVALID_CONFIG/);
  });

  test('a topic deleted through the API is gone', async () => {
    assert.equal((await call('POST', 'topics', { name: 'doomed' })).status, 200);
    assert.equal((await call('DELETE', 'topics/doomed', {})).status, 200);
    assert.equal((await call('GET', 'topics/doomed', undefined, {})).status, 404);
    assert.equal((await call('DELETE', 'topics/doomed', {})).status, 404);
  });

  test('fjord console serves the same API for a cluster it reaches with the client', async () => {
    const standalone = await startFjordConsole(['--bootstrap-server', srv.server.address, '--read-only']);
    try {
      const url = standalone.url;
      assert.match(standalone.output(), /\(read-only\)/);
      const topics = (await (await fetch(`${url}api/topics`)).json()) as { name: string }[];
      assert.ok(topics.some((t) => t.name === 'tuned'));
      assert.equal((await fetch(`${url}api/topics`, { method: 'POST', headers: mutate, body: '{"name":"x"}' })).status, 403);
      assert.match(await (await fetch(url)).text(), /<script type="module" src="\/assets\/app.js">/);
      assert.equal((await fetch(`${url}assets/app.js`)).status, 200);
    } finally {
      await standalone.stop();
    }
  });
});

test('an embedded broker serves the console only on an HTTP listener it was asked for, and not with console off', async () => {
  const plain = await startBroker({ logLevel: 'silent' });
  const withHttp = await startBroker({ logLevel: 'silent', httpPort: 0 });
  const consoleOff = await startBroker({ logLevel: 'silent', httpPort: 0, console: false });
  try {
    assert.equal(plain.broker.httpAddress, null);
    const page = await fetch(`http://${withHttp.broker.httpAddress}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const overview = (await (await fetch(`http://${withHttp.broker.httpAddress}/api/overview`)).json()) as { brokers: unknown[] };
    assert.equal(overview.brokers.length, 1);
    assert.equal((await fetch(`http://${consoleOff.broker.httpAddress}/`)).status, 404);
    assert.equal((await fetch(`http://${consoleOff.broker.httpAddress}/health`)).status, 200);
  } finally {
    await Promise.all([plain.stop(), withHttp.stop(), consoleOff.stop()]);
  }
});
