// The web console in a real browser: headless Chromium (Debian's package) through puppeteer-core,
// against a real `fjord server` on real ports, whose HTTP listener serves the console at /.
// Each page loads without console errors; a topic is created and a message produced in the UI and
// then found by the message browser's search; a group with known lag shows those numbers, and a
// reset in the UI moves them; a running group refuses the reset. Screenshots: browser.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'puppeteer-core';
import { Kafka, logLevel, type Consumer } from '../../src/client/index.js';
import { chromiumPath, fill, launch, openPage, screenshot, SKIP_REASON, waitForText } from './browser.js';
import { startConsoleServer } from './server.js';

const chromium = chromiumPath();
const skip = chromium === null ? SKIP_REASON : false;

describe('web console (Chromium)', { skip }, () => {
  let browser: Browser;
  let srv: Awaited<ReturnType<typeof startConsoleServer>>;
  let kafka: Kafka;
  const consumers: Consumer[] = [];

  before(async () => {
    srv = await startConsoleServer([]);
    browser = await launch(chromium!);
    kafka = new Kafka({ brokers: [srv.server.address], clientId: 'console-test', logLevel: logLevel.NOTHING });
  });
  after(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await browser?.close();
    await srv?.stop();
  });

  test('a topic created and a message produced in the UI is found by the message browser', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${srv.url}#/topics`);
    await page.waitForSelector('[data-test=page-topics]');
    await page.click('[data-test=create-topic] summary');
    await fill(page, '[data-test=create-topic] input[name=name]', 'orders');
    await fill(page, '[data-test=create-topic] input[name=partitions]', '3');
    await page.click('[data-test=create-topic-submit]');
    await waitForText(page, '[data-test=create-topic] [data-test=ok]', /created orders/);
    await page.waitForSelector('tr[data-topic=orders]');
    assert.match(await page.$eval('tr[data-topic=orders]', (el) => el.textContent ?? ''), /orders\s*3\s*0/);

    await page.click('tr[data-topic=orders] a');
    await page.waitForSelector('[data-test=partitions-table]');
    await page.click('[data-test=tab-produce]');
    await page.waitForSelector('[data-test=produce]');
    await page.select('[data-test=produce] select[name=partition]', '2');
    await fill(page, '[data-test=produce] input[name=key]', 'order-17');
    await fill(page, '[data-test=produce] textarea[name=value]', '{"id":17,"item":"lingonberry jam","qty":3}');
    await fill(page, '[data-test=produce] textarea[name=headers]', 'source=console-test');
    await screenshot(page, 'produce');
    await page.click('[data-test=produce-submit]');
    const ok = await waitForText(page, '[data-test=produce] [data-test=ok]', /written to partition 2 at offset 0/);
    assert.match(ok, /partition 2 at offset 0/);

    // A few more messages from a client, so the search has something to pass over.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: Array.from({ length: 20 }, (_, i) => ({ partition: 2, key: `filler-${i}`, value: `{"id":${100 + i},"item":"crispbread"}` })) });
    await producer.disconnect();

    await page.click('[data-test=tab-messages]');
    await page.waitForSelector('[data-test=messages] form');
    await page.select('[data-test=messages] select[name=partition]', '2');
    await page.select('[data-test=messages] select[name=from]', 'offset');
    await fill(page, '[data-test=messages] input[name=at]', '0');
    await fill(page, '[data-test=messages] input[name=search]', 'LINGONBERRY');
    await page.select('[data-test=messages] select[name=view]', 'json');
    await page.click('[data-test=load-messages]');
    await page.waitForSelector('[data-test=messages-table] tr[data-offset="0"]');
    const rows = await page.$$eval('[data-test=messages-table] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, 1, `one match, got ${rows.join(' | ')}`);
    assert.match(rows[0], /order-17/);
    assert.match(rows[0], /"item": "lingonberry jam"/, 'the value is pretty-printed JSON');
    assert.match(rows[0], /source/);
    assert.match(await page.$eval('[data-test=browse-status]', (el) => el.textContent ?? ''), /scanned 21/);
    await screenshot(page, 'messages');

    await page.select('[data-test=messages] select[name=view]', 'hex');
    await page.waitForFunction(() => /^000000 {2}7b 22 69 64/.test(document.querySelector('[data-test=message-value]')?.textContent ?? ''));
    assert.deepEqual(errors, []);
  });

  test('a group with known lag shows it per partition and in total; a reset in the UI moves it', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'payments', messages: [...Array.from({ length: 6 }, (_, i) => ({ partition: 0, value: `p0-${i}` })), ...Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `p1-${i}` }))] });
    await producer.disconnect();
    // Committed 2 of 6 and 3 of 4: lag 4 and 1, 5 in all.
    await admin.setOffsets({ groupId: 'billing', topic: 'payments', partitions: [{ partition: 0, offset: '2' }, { partition: 1, offset: '3' }] });
    await admin.disconnect();

    const { page, errors } = await openPage(browser);
    await page.goto(`${srv.url}#/groups`);
    await page.waitForSelector('tr[data-group=billing]');
    assert.equal(await page.$eval('tr[data-group=billing] [data-test=group-lag]', (el) => el.textContent), '5');
    await page.click('tr[data-group=billing] a');
    await page.waitForSelector('[data-test=lag-table] tr[data-tp="payments/0"]');
    const lag = (tp: string) => page.$eval(`[data-test=lag-table] tr[data-tp="${tp}"] [data-test=lag]`, (el) => el.textContent);
    assert.equal(await lag('payments/0'), '4');
    assert.equal(await lag('payments/1'), '1');
    assert.equal(await page.$eval('[data-test=group-total-lag]', (el) => el.textContent), '5');
    assert.equal(await page.$eval('[data-test=group-state]', (el) => el.textContent), 'Empty');
    await screenshot(page, 'group-lag');

    await page.select('[data-test=reset] select[name=to]', 'latest');
    await page.click('[data-test=reset-submit]');
    await waitForText(page, '[data-test=ok]', /offsets now 0: 6, 1: 4/);
    await page.waitForFunction(() => document.querySelector('[data-test=group-total-lag]')?.textContent === '0');
    assert.deepEqual(errors, []);
  });

  test('a running group shows members and assignments, and its offsets cannot be reset', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'clicks', numPartitions: 3 }] });
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: 'live-readers' });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: ['clicks'] });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await consumer.run({ eachMessage: async () => undefined });
    while (!joined) await new Promise((r) => setTimeout(r, 100));

    const { page, errors } = await openPage(browser);
    await page.goto(`${srv.url}#/groups/live-readers`);
    await waitForText(page, '[data-test=group-state]', /Stable/);
    const members = await page.$eval('[data-test=page-group] table', (el) => el.textContent ?? '');
    assert.match(members, /console-test/);
    assert.match(members, /clicks: 0, 1, 2/);
    assert.ok(await page.$('[data-test=reset-needs-empty]'), 'the page says the group must be empty');
    assert.equal(await page.$eval('[data-test=reset-submit]', (el) => (el as HTMLButtonElement).disabled), true);
    await screenshot(page, 'group-members');
    // The API refuses it too (409), as Kafka does.
    const res = await fetch(`${srv.url}api/groups/live-readers/reset`, { method: 'POST', headers: { 'x-fjord-console': '1', 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'clicks', to: 'earliest' }) });
    assert.equal(res.status, 409);
    assert.match(((await res.json()) as { error: string }).error, /Stable: offsets can be reset only while the group has no members/);
    assert.deepEqual(errors, []);
  });

  test('every page loads without console errors, in light and dark', async () => {
    // Some traffic for the throughput chart.
    const producer = kafka.producer();
    await producer.connect();
    let sending = true;
    const traffic = (async () => {
      for (let i = 0; sending; i++) {
        await producer.send({ topic: 'orders', messages: Array.from({ length: 20 + (i % 5) * 10 }, (_, j) => ({ value: `m${i}-${j}` })) });
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      for (const dark of [false, true]) {
        const { page, errors } = await openPage(browser, { dark });
        const pages: [string, string][] = [
          ['', 'page-overview'], ['#/topics', 'page-topics'], ['#/topics/orders', 'partitions-table'],
          ['#/topics/orders/messages', 'messages'], ['#/topics/orders/produce', 'produce'], ['#/topics/orders/configs', 'configs-table'],
          ['#/groups', 'page-groups'], ['#/groups/billing', 'lag-table'],
        ];
        for (const [hash, marker] of pages) {
          await page.goto(`${srv.url}${hash}`);
          await page.waitForSelector(`[data-test=${marker}]`);
          await page.waitForFunction(() => !document.querySelector('[data-test=error]'));
        }
        await page.goto(srv.url);
        await page.waitForSelector('[data-test=cluster-id]');
        // Three samples make two rates: the chart has a line.
        await page.waitForFunction(() => (document.querySelector('.chart path.s0')?.getAttribute('d') ?? '').split('L').length >= 3, { timeout: 15_000 });
        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(background, dark ? 'rgb(15, 19, 24)' : 'rgb(246, 247, 249)');
        await screenshot(page, dark ? 'overview-dark' : 'overview');
        assert.deepEqual(errors, [], `console errors (${dark ? 'dark' : 'light'})`);
      }
      // The toggle overrides the system preference.
      const { page, errors } = await openPage(browser, { dark: false });
      await page.goto(`${srv.url}#/topics`);
      await page.waitForSelector('tr[data-topic=orders]');
      await page.click('[data-test=theme]');
      await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
      assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(15, 19, 24)');
      await screenshot(page, 'topics-dark');
      assert.deepEqual(errors, []);
    } finally {
      sending = false;
      await traffic;
      await producer.disconnect();
    }
  });
});
