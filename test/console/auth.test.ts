// The console's guards, in Chromium and over plain HTTP: a broker with SASL users asks for a login
// (the same credentials; a wrong password is refused), sessions are HttpOnly SameSite=Strict
// cookies; read-only mode hides the buttons and answers 403 to every mutation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'puppeteer-core';
import { chromiumPath, fill, launch, openPage, screenshot, SKIP_REASON, waitForText } from './browser.js';
import { startConsoleServer, startFjordConsole } from './server.js';

const chromium = chromiumPath();
const skip = chromium === null ? SKIP_REASON : false;
const mutate = { 'x-fjord-console': '1', 'content-type': 'application/json' };

describe('console on a SASL broker', { skip }, () => {
  let browser: Browser;
  let srv: Awaited<ReturnType<typeof startConsoleServer>>;
  before(async () => {
    srv = await startConsoleServer([
      '--listeners', 'SASL_PLAINTEXT://127.0.0.1:0', '--sasl-enabled-mechanisms', 'SCRAM-SHA-256',
      '--add-scram', 'SCRAM-SHA-256=[name=alice,password=alice-secret]', '--connection-failed-authentication-delay-ms', '0',
    ]);
    browser = await launch(chromium!);
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  test('the API needs a session; a wrong password is refused; the cookie is HttpOnly and SameSite=Strict', async () => {
    const info = (await (await fetch(`${srv.url}api/info`)).json()) as { loginRequired: boolean; user: string | null };
    assert.equal(info.loginRequired, true);
    assert.equal(info.user, null);
    assert.equal((await fetch(`${srv.url}api/topics`)).status, 401);
    const wrong = await fetch(`${srv.url}api/login`, { method: 'POST', headers: mutate, body: JSON.stringify({ username: 'alice', password: 'nope' }) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const right = await fetch(`${srv.url}api/login`, { method: 'POST', headers: mutate, body: JSON.stringify({ username: 'alice', password: 'alice-secret' }) });
    assert.equal(right.status, 200);
    const cookie = right.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^fjord_console=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\//);
    const session = cookie.split(';')[0];
    assert.equal((await fetch(`${srv.url}api/topics`, { headers: { cookie: session } })).status, 200);
    assert.equal((await fetch(`${srv.url}api/topics`, { headers: { cookie: 'fjord_console=forged' } })).status, 401);
    // Logging out ends the session.
    assert.equal((await fetch(`${srv.url}api/logout`, { method: 'POST', headers: { ...mutate, cookie: session } })).status, 200);
    assert.equal((await fetch(`${srv.url}api/topics`, { headers: { cookie: session } })).status, 401);
  });

  test('fjord console --sasl-mechanism logs each session in with its own credentials', async () => {
    const standalone = await startFjordConsole(['--bootstrap-server', srv.server.address, '--sasl-mechanism', 'SCRAM-SHA-256']);
    try {
      assert.match(standalone.output(), /login: SASL SCRAM-SHA-256/);
      assert.equal((await fetch(`${standalone.url}api/overview`)).status, 401);
      const login = (password: string) => fetch(`${standalone.url}api/login`, { method: 'POST', headers: mutate, body: JSON.stringify({ username: 'alice', password }) });
      assert.equal((await login('guess')).status, 401);
      const ok = await login('alice-secret');
      assert.equal(ok.status, 200);
      const session = (ok.headers.get('set-cookie') ?? '').split(';')[0];
      assert.equal((await fetch(`${standalone.url}api/overview`, { headers: { cookie: session } })).status, 200);
    } finally {
      await standalone.stop();
    }
  });

  test('the page asks for a login, refuses a wrong password and lets the right one in', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(srv.url);
    await page.waitForSelector('[data-test=page-login]');
    assert.equal(await page.$('[data-test=nav-topics]'), null, 'nothing but the login before it');
    await fill(page, 'input[name=username]', 'alice');
    await fill(page, 'input[name=password]', 'wrong-password');
    await page.click('[data-test=login-submit]');
    await waitForText(page, '[data-test=page-login] [data-test=error]', /wrong username or password/);
    await screenshot(page, 'login-refused');
    await fill(page, 'input[name=password]', 'alice-secret');
    await page.click('[data-test=login-submit]');
    await page.waitForSelector('[data-test=cluster-id]');
    await page.click('[data-test=nav-topics]');
    await page.waitForSelector('[data-test=page-topics]');
    // The refused login is the one error the page saw (the browser logs the 401 answer).
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
    assert.equal(errors.length, 1);
  });
});

describe('console in read-only mode', { skip }, () => {
  let browser: Browser;
  let srv: Awaited<ReturnType<typeof startConsoleServer>>;
  before(async () => {
    srv = await startConsoleServer(['--console-read-only']);
    browser = await launch(chromium!);
    // A topic to look at (created through the broker itself, not the console).
    const { Kafka, logLevel } = await import('../../src/client/index.js');
    const admin = new Kafka({ brokers: [srv.server.address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'audit', numPartitions: 1 }] });
    await admin.disconnect();
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  test('every mutation answers 403 and reads still work', async () => {
    const calls: [string, string, unknown][] = [
      ['POST', 'api/topics', { name: 'x' }],
      ['DELETE', 'api/topics/audit', {}],
      ['POST', 'api/topics/audit/messages', { value: 'v' }],
      ['POST', 'api/topics/audit/configs', { set: { 'retention.ms': '1000' } }],
      ['POST', 'api/groups/g/reset', { topic: 'audit', to: 'earliest' }],
    ];
    for (const [method, path, body] of calls) {
      const res = await fetch(`${srv.url}${path}`, { method, headers: mutate, body: JSON.stringify(body) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.match(((await res.json()) as { error: string }).error, /read-only/);
    }
    assert.equal((await fetch(`${srv.url}api/topics/audit`)).status, 200);
  });

  test('the page hides the buttons that change anything', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${srv.url}#/topics`);
    await page.waitForSelector('tr[data-topic=audit]');
    assert.ok(await page.$('[data-test=read-only]'));
    assert.equal(await page.$('[data-test=create-topic]'), null);
    await page.goto(`${srv.url}#/topics/audit/configs`);
    await page.waitForSelector('[data-test=configs-table]');
    assert.equal(await page.$('[data-test=delete-topic]'), null);
    assert.equal(await page.$('[data-test=tab-produce]'), null);
    assert.equal(await page.$('[data-test=config-set]'), null);
    await screenshot(page, 'read-only');
    assert.deepEqual(errors, []);
  });
});
