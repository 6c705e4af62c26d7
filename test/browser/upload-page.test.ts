import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
  type Request,
  type Response,
  type Route,
} from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

/**
 * The upload page (site/) in a real browser, Debian's Chromium driven by playwright-core, against a local
 * cloud that serves it from the template's CDN behaviours, as a person would use it: remember a key, pick
 * two files (one a real image, one a text file named .jpg), watch them settle, open a variant, delete.
 * `npx playwright install` cannot download browsers here; `.ci/run` installs the `chromium` package.
 */
const CHROMIUM = process.env.PICTURA_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where the screenshots go: docs/ with PICTURA_UPDATE_SCREENSHOTS=1 (to commit them), else a temp folder. */
const SHOTS = process.env.PICTURA_UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs') : tmpdir();
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Variant {
  name: string;
  url: string;
  width: number;
  height: number;
}

/** An 800×600 JPEG of a sky-to-sea gradient with a sun: a real photo-like image for the page to show. */
async function landscape(): Promise<Buffer> {
  const width = 800;
  const height = 600;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const sea = y > height * 0.62;
      const t = y / height;
      const sun = Math.hypot(x - 560, y - 300) < 70;
      const i = (y * width + x) * 3;
      pixels[i] = sun ? 255 : sea ? 20 + 40 * t : 250 - 120 * t;
      pixels[i + 1] = sun ? 210 : sea ? 70 + 60 * t : 140 - 40 * t;
      pixels[i + 2] = sun ? 90 : sea ? 120 + 60 * t : 90 + 80 * t;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** A PNG of random pixels (incompressible): `side`² × 3 bytes and a little more, to watch a slow upload. */
async function noise(side: number): Promise<Buffer> {
  const pixels = Buffer.alloc(side * side * 3);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = Math.floor(Math.random() * 256);
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** A small PNG of one colour. */
function smallPng(red: number): Promise<Buffer> {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: { r: red, g: 90, b: 160 } } })
    .png()
    .toBuffer();
}

/** The problem document the API (API Gateway's gateway responses) answers with, as a route answer. */
function problem(status: number, code: string, headers: Record<string, string> = {}) {
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({ type: 'about:blank', title: code, status, detail: `${code} (injected)`, code }),
  };
}

/** CloudFront's page when AWS WAF blocks the viewer (local/cloudfront/waf.ts sends the same). */
const WAF_PAGE = {
  status: 403,
  headers: { 'content-type': 'text/html', server: 'CloudFront', 'x-cache': 'Error from cloudfront' },
  body: '<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>Request blocked.</BODY></HTML>',
};

const isListing = (url: URL) => url.pathname === '/v1/images' && url.searchParams.has('limit');
const isPresign = (url: URL) => url.pathname === '/v1/images' && !url.search;
const isPublicRead = (url: URL) => /^\/v1\/images\/[^/]+$/.test(url.pathname);

/** Files dropped at once by the concurrency test (PICTURA_BROWSER_MANY=100 for the reviewer's case). */
const MANY = Number(process.env.PICTURA_BROWSER_MANY ?? 16);

let cloud: TestCloud;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];

/**
 * Records, in the page, every state line a card shows and every progress value it reaches (a
 * MutationObserver, evaluated over the DevTools protocol: the page's CSP does not govern it), so a test sees
 * the short-lived ones too.
 */
async function recordCards(): Promise<void> {
  await page.evaluate(`(() => {
    window.__log = [];
    new MutationObserver((records) => {
      for (const record of records) {
        const target = record.target.nodeType === 3 ? record.target.parentElement : record.target;
        const card = target?.closest?.('li.upload');
        if (!card) continue;
        const name = card.querySelector('h3').textContent;
        if (target.matches('.state')) window.__log.push({ name, state: target.textContent });
        if (target.matches('progress')) window.__log.push({ name, progress: Number(target.getAttribute('value')) });
      }
    }).observe(document.querySelector('#uploads'), {
      subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['value'],
    });
  })()`);
}

interface LogEntry {
  name: string;
  state?: string;
  progress?: number;
}
const cardLog = async (name: string) =>
  ((await page.evaluate('window.__log')) as LogEntry[]).filter((entry) => entry.name === name);

beforeAll(async () => {
  cloud = await startTestCloud();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  // Clipboard permissions, so that the test reads back what Copy link wrote.
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  // Listening from the start makes Playwright intercept file choosers before any key press: a listener added
  // just before pressing Enter may come after Chromium has opened its own (headless, invisible) dialog.
  page.on('filechooser', () => {});
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

/** Runs axe-core in the page; the serious and critical violations. */
async function seriousViolations() {
  // Evaluated over the DevTools protocol, which the page's CSP does not govern (an injected <script> would
  // be refused, as it should be).
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate<{ id: string; impact: string; targets: string[][] }[]>(
    `axe.run(document).then((results) => results.violations.map((v) =>
      ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) })))`,
  );
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describe('the upload page, in Chromium, against the local cloud', () => {
  let readyId = '';
  let shown: Variant | undefined;

  it('is served at the CDN root with a CSP that allows its own script and nothing inline', async () => {
    const response = await page.goto(`${cloud.urls.cdn}/`);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['content-type']).toBe('text/html');
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    // The presigned POST goes to the local AWS endpoint: the template's S3 URL, localised.
    expect(headers['content-security-policy']).toContain(`connect-src 'self' ${cloud.urls.aws}`);
    expect(headers['x-frame-options']).toBe('DENY');
    await expect(page.locator('h1').textContent()).resolves.toBe('Pictura');
  });

  it('refuses a key that is too short once trimmed, or has characters no key has, saying why', async () => {
    // 19 characters and spaces: minlength=20 lets it through, the trimmed key is too short.
    await page.fill('#api-key', `  ${cloud.apiKey.slice(0, 19)}  `);
    await page.getByRole('button', { name: 'Remember key' }).click();
    await expect(page.locator('#key-status').textContent()).resolves.toMatch(
      /19 characters long.*at least 20/,
    );
    await page.fill('#api-key', `${cloud.apiKey}é`);
    await page.getByRole('button', { name: 'Remember key' }).click();
    await expect(page.locator('#key-status').textContent()).resolves.toMatch(
      /characters an API key never has/,
    );
    await expect(page.evaluate(`localStorage.getItem('pictura.apiKey')`)).resolves.toBeNull();
    // One remembered before keys were checked (fetch would throw on it at every call) is dropped, saying why.
    await page.evaluate(`localStorage.setItem('pictura.apiKey', 'ключ-ключ-ключ-ключ-ключ')`);
    await page.reload();
    await expect(page.locator('#key-status').textContent()).resolves.toMatch(
      /^The remembered key was dropped\. That key has characters/,
    );
    await expect(page.evaluate(`localStorage.getItem('pictura.apiKey')`)).resolves.toBeNull();
  });

  it('remembers the API key in this browser, trimmed', async () => {
    await page.fill('#api-key', ` ${cloud.apiKey} `);
    await page.getByRole('button', { name: 'Remember key' }).click();
    await expect(page.locator('#key-status').textContent()).resolves.toContain(cloud.apiKey.slice(-4));
    await page.reload();
    await expect(page.inputValue('#api-key')).resolves.toBe(cloud.apiKey);
    await recordCards();
  });

  it('opens the file chooser from the keyboard; one file becomes ready (placeholder first), one is rejected', async () => {
    // Variants are held back until the test lets them go: the card must show the placeholder meanwhile.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holdVariants = async (route: Route) => {
      await held;
      await route.fallback();
    };
    await page.route((url) => url.pathname.startsWith('/variants/'), holdVariants);
    await page.focus('#files');
    const chooser = page.waitForEvent('filechooser');
    await page.keyboard.press('Enter');
    await (await chooser).setFiles([
      { name: 'sunset.jpg', mimeType: 'image/jpeg', buffer: await landscape() },
      { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these are notes, not a picture\n') },
    ]);
    const ready = page.locator('li.upload.is-ready');
    const rejected = page.locator('li.upload.is-rejected');
    await ready.waitFor({ timeout: 60_000 });
    await expect(ready.locator('h3').textContent()).resolves.toBe('sunset.jpg');
    const preview = ready.locator('img.preview');
    await expect(preview.evaluate((el: { src: string }) => el.src)).resolves.toMatch(
      /^data:image\/png;base64,/,
    );
    await expect(preview.isVisible()).resolves.toBe(true);
    release();
    await page.unroute((url) => url.pathname.startsWith('/variants/'), holdVariants);
    await rejected.waitFor({ timeout: 60_000 });
    await expect(rejected.locator('h3').textContent()).resolves.toBe('notes.jpg');
    await expect(rejected.locator('.state').textContent()).resolves.toBe('Rejected.');
    await expect(rejected.locator('.problem').textContent()).resolves.toContain('NOT_AN_IMAGE');
    await expect(ready.locator('.facts').textContent()).resolves.toMatch(/image\/jpeg.*KiB.*800×600/);
    await expect(ready.locator('progress').evaluate((p: { value: number }) => p.value)).resolves.toBe(100);
  });

  it('also opens the file chooser with Space', async () => {
    await page.focus('#files');
    const chooser = page.waitForEvent('filechooser', { timeout: 5_000 });
    await page.keyboard.press(' ');
    await (await chooser).setFiles([]);
  });

  it('renders the variant the API lists, at its own width, once it has loaded', async () => {
    const img = page.locator('li.upload.is-ready img.preview');
    // Polled from the test, not with page.waitForFunction, whose polling evaluates a string in the page and
    // is refused by the page's CSP (no 'unsafe-eval'), as it should be.
    await expect
      .poll(
        () =>
          img.evaluate(
            (el: { complete: boolean; naturalWidth: number; src: string }) =>
              el.complete && el.naturalWidth > 0 && el.src.includes('/variants/'),
          ),
        { timeout: 20_000 },
      )
      .toBe(true);
    const src = await img.evaluate((el: { src: string }) => el.src);
    readyId = /\/variants\/([^/]+)\//.exec(src)?.[1] ?? '';
    const image = (await (await fetch(`${cloud.urls.api}/v1/images/${readyId}`)).json()) as {
      status: string;
      variants: Variant[];
    };
    expect(image.status).toBe('ready');
    shown = image.variants.find((variant) => variant.url === src);
    expect(shown, src).toBeDefined();
    // Its placeholder was drawn from the document's ThumbHash, and stays behind the variant.
    const frame = page.locator('li.upload.is-ready .frame');
    await expect(
      frame.evaluate((el: { dataset: { placeholder?: string } }) => el.dataset.placeholder),
    ).resolves.toBe('shown');
    await expect(
      frame.evaluate((el: { style: { backgroundImage: string } }) => el.style.backgroundImage),
    ).resolves.toMatch(/^url\("data:image\/png;base64,/);
    await expect(img.evaluate((el: { naturalWidth: number }) => el.naturalWidth)).resolves.toBe(shown?.width);
    const links = page.locator('li.upload.is-ready .links a');
    await expect(links.count()).resolves.toBe(image.variants.length);
  });

  it('copies a variant link to the clipboard, and says so', async () => {
    const first = page.locator('li.upload.is-ready .links li').first();
    const href = await first.locator('a').getAttribute('href');
    expect(href).toMatch(/^http:\/\/.*\/variants\//);
    await page.evaluate(`navigator.clipboard.writeText('before')`);
    await first.getByRole('button', { name: /^Copy link to sunset\.jpg, / }).click();
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()')).toBe(href);
    await expect
      .poll(() => page.locator('#announcer').textContent())
      .toMatch(/^Link to sunset\.jpg .* copied\.$/);
  });

  it('keeps hidden parts hidden (the page CSS never overrides [hidden])', async () => {
    const shownHidden = await page.evaluate(
      `[...document.querySelectorAll('[hidden]')].filter((el) => getComputedStyle(el).display !== 'none')
        .map((el) => el.className || el.tagName)`,
    );
    expect(shownHidden).toEqual([]);
    // The rejected card has hidden facts, links and preview: each must be display:none.
    await expect(page.locator('li.upload.is-rejected .facts').isVisible()).resolves.toBe(false);
    await expect(page.locator('li.upload.is-rejected .links').isVisible()).resolves.toBe(false);
  });

  it("does not read the file input's help twice (its label holds it; no aria-describedby repeats it)", async () => {
    const repeated =
      await page.evaluate(`[...document.querySelectorAll('input[aria-describedby]')].flatMap((input) =>
      input.getAttribute('aria-describedby').split(/\\s+/).filter((id) =>
        [...input.labels].some((label) => label.contains(document.getElementById(id)))))`);
    expect(repeated).toEqual([]);
    // As Chromium gives it to a screen reader: the help in its name, and no description repeating it.
    const cdp = await context.newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { role?: { value: string }; name?: { value: string }; description?: { value: string } }[];
    };
    await cdp.detach();
    const input = nodes.filter(
      (node) => node.role?.value === 'button' && node.name?.value.startsWith('Choose images'),
    );
    expect(input.map((node) => [node.name?.value, node.description?.value ?? ''])).toEqual([
      ['Choose images or drop them here. JPEG, PNG, WebP, GIF, AVIF or TIFF.', ''],
    ]);
  });

  it('never serves the original through the CDN, while the page and variants are there', async () => {
    expect((await fetch(`${cloud.urls.cdn}/originals/${readyId}`)).status).toBe(404);
    expect((await fetch(shown?.url ?? '')).status).toBe(200);
  });

  it('has no serious or critical axe-core violations, with images shown, on a desktop and a phone', async () => {
    expect(await seriousViolations()).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await seriousViolations()).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('fits a phone screen without sideways scrolling, and is saved as screenshots', async () => {
    await page.screenshot({ path: join(SHOTS, 'upload-page.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).resolves.toBe(
      true,
    );
    await page.screenshot({ path: join(SHOTS, 'upload-page-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('deletes the image with the key, and announces it', async () => {
    await page.getByRole('button', { name: 'Delete sunset.jpg' }).click();
    await page
      .locator('li.upload.is-ready', { hasText: 'sunset.jpg' })
      .waitFor({ state: 'detached', timeout: 20_000 });
    await waitFor(
      async () => ((await fetch(`${cloud.urls.api}/v1/images/${readyId}`)).status === 404 ? true : undefined),
      20_000,
      'the deleted image to answer 404',
    );
    await expect.poll(() => page.locator('#announcer').textContent()).toBe('sunset.jpg deleted.');
  });

  it('takes files dropped on the drop zone too', async () => {
    const png = await sharp({
      create: { width: 64, height: 48, channels: 4, background: { r: 20, g: 120, b: 200, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    await drop([{ name: 'dropped.png', type: 'image/png', base64: png.toString('base64') }]);
    const card = page.locator('li.upload.is-ready', { hasText: 'dropped.png' });
    await card.waitFor({ timeout: 60_000 });
    await expect(card.locator('.facts').textContent()).resolves.toMatch(/image\/png.*64×48/);
  });

  it('logged no error in the page so far (no CSP refusal, no failed script or request)', () => {
    expect(consoleErrors).toEqual([]);
  });

  it('shows a file the API refuses with its problem code, its name as text, never as markup', async () => {
    const name = '<img src=x onerror="document.title=\'owned\'">.txt';
    await page.setInputFiles('#files', [{ name, mimeType: 'text/plain', buffer: Buffer.from('plain text') }]);
    const card = page.locator('li.upload.is-refused', { hasText: '.txt' });
    await card.waitFor({ timeout: 20_000 });
    await expect(card.locator('h3').textContent()).resolves.toBe(name);
    // The upload function refuses the declared type before any upload form is made (415): not "Rejected".
    await expect(card.locator('.problem strong').textContent()).resolves.toBe('UNSUPPORTED_MEDIA_TYPE');
    await expect(card.locator('.state').textContent()).resolves.toBe('Not uploaded.');
    await expect(card.locator('img:not(.preview)').count()).resolves.toBe(0);
    await expect(page.title()).resolves.toBe('Pictura: upload images');
    // Chromium logs the refused request itself, and nothing else.
    expect(consoleErrors).toEqual([expect.stringMatching(/status of 415 .*\/v1\/images\)$/)]);
    consoleErrors.length = 0;
  });

  it('declares a PNG with no extension and no type by its first bytes (not application/octet-stream)', async () => {
    const declared: string[] = [];
    const onRequest = (request: Request) => {
      if (request.method() === 'POST' && isPresign(new URL(request.url())))
        declared.push(JSON.parse(request.postData() ?? '{}').contentType);
    };
    page.on('request', onRequest);
    await page.setInputFiles('#files', [{ name: 'scan', mimeType: '', buffer: await smallPng(200) }]);
    const card = page.locator('li.upload.is-ready', { hasText: 'scan' });
    await card.waitFor({ timeout: 60_000 });
    page.off('request', onRequest);
    expect(declared).toEqual(['image/png']);
    await expect(card.locator('.facts').textContent()).resolves.toMatch(/image\/png.*40×30/);
  });

  it('says "empty file" for a 0-byte file, without asking the API', async () => {
    let presigns = 0;
    const onRequest = (request: Request) => {
      if (isPresign(new URL(request.url()))) presigns += 1;
    };
    page.on('request', onRequest);
    await page.setInputFiles('#files', [
      { name: 'nothing.png', mimeType: 'image/png', buffer: Buffer.alloc(0) },
    ]);
    const card = page.locator('li.upload.is-refused', { hasText: 'nothing.png' });
    await card.waitFor({ timeout: 5_000 });
    page.off('request', onRequest);
    await expect(card.locator('.problem').textContent()).resolves.toMatch(/^EMPTY_FILE The file is empty/);
    expect(presigns).toBe(0);
  });

  it("names the size limit the API's 413 states (the page hard-codes none)", async () => {
    const detail = 'contentLength 40 is over the 26214400-byte limit';
    await page.route(isPresign, (route) =>
      route.fulfill({
        ...problem(413, 'FILE_TOO_LARGE'),
        body: JSON.stringify({ status: 413, code: 'FILE_TOO_LARGE', detail }),
      }),
    );
    try {
      await page.setInputFiles('#files', [
        { name: 'huge.png', mimeType: 'image/png', buffer: await smallPng(60) },
      ]);
      const card = page.locator('li.upload.is-refused', { hasText: 'huge.png' });
      await card.waitFor({ timeout: 20_000 });
      await expect(card.locator('.problem').textContent()).resolves.toMatch(
        /^FILE_TOO_LARGE The file is [\d.]+ \w+; the API takes files up to 25\.0 MiB\.$/,
      );
    } finally {
      await page.unroute(isPresign);
    }
    await expect(page.locator('#drop-zone').textContent()).resolves.not.toMatch(/\d\s*MiB/);
    consoleErrors.length = 0;
  });

  it('reports upload progress below 100 on a slow link, and Delete during an upload aborts it', async () => {
    // Chromium's own network throttling (DevTools protocol), upload at 512 KiB/s: a 1.5 MB file takes 3 s.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const throttle = { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 512 * 1024 };
    await cdp.send('Network.emulateNetworkConditions', throttle);
    try {
      await page.setInputFiles('#files', [
        { name: 'noise.png', mimeType: 'image/png', buffer: await noise(700) },
      ]);
      await page.locator('li.upload.is-ready', { hasText: 'noise.png' }).waitFor({ timeout: 90_000 });
      const progress = (await cardLog('noise.png')).flatMap((entry) => entry.progress ?? []);
      expect(progress.filter((value) => value > 0 && value < 100).length, String(progress)).toBeGreaterThan(
        2,
      );
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(100);

      const aborted: string[] = [];
      page.on('requestfailed', (request) => {
        if (request.url().startsWith(cloud.urls.aws)) aborted.push(request.failure()?.errorText ?? '');
      });
      await page.setInputFiles('#files', [
        { name: 'stopped.png', mimeType: 'image/png', buffer: await noise(700) },
      ]);
      const card = page.locator('li.upload', { hasText: 'stopped.png' });
      await expect
        .poll(() => card.locator('progress').evaluate((p: { value: number }) => p.value), { timeout: 30_000 })
        .toBeGreaterThan(5);
      await card.getByRole('button', { name: 'Delete stopped.png' }).click();
      await card.waitFor({ state: 'detached', timeout: 20_000 });
      expect(aborted).toEqual(['net::ERR_ABORTED']);
      expect((await cardLog('stopped.png')).some((entry) => entry.progress === 100)).toBe(false);
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { ...throttle, latency: 0, uploadThroughput: -1 });
      await cdp.detach();
    }
  });

  it('waits and retries through throttling, the WAF page, 503, a refused connection and a non-JSON answer', async () => {
    const answers = [
      problem(429, 'THROTTLED', { 'retry-after': '1' }),
      WAF_PAGE,
      problem(503, 'SERVICE_UNAVAILABLE'),
      'abort',
      { status: 200, headers: { 'content-type': 'text/html' }, body: '<p>a proxy page</p>' },
    ] as const;
    let presigns = 0;
    let listings = 0;
    await page.route(isPresign, async (route) => {
      presigns += 1;
      if (presigns === 1) await route.fulfill(problem(429, 'THROTTLED', { 'retry-after': '1' }));
      else await route.fallback();
    });
    await page.route(isListing, async (route) => {
      const answer = answers[listings];
      listings += 1;
      if (answer === 'abort') await route.abort('connectionrefused');
      else if (answer) await route.fulfill(answer);
      else await route.fallback();
    });
    try {
      await page.setInputFiles('#files', [
        { name: 'patient.png', mimeType: 'image/png', buffer: await smallPng(10) },
      ]);
      await page.locator('li.upload.is-ready', { hasText: 'patient.png' }).waitFor({ timeout: 90_000 });
    } finally {
      await page.unroute(isPresign);
      await page.unroute(isListing);
    }
    const states = (await cardLog('patient.png')).flatMap((entry) => entry.state ?? []);
    expect(states).not.toContain('Rejected.');
    expect(states.filter((state) => state.startsWith('Waiting: '))).toEqual([
      expect.stringMatching(/^Waiting: THROTTLED .*retrying in 1 s/),
      expect.stringMatching(/^Waiting: THROTTLED .*retrying in 1 s/),
      expect.stringMatching(/^Waiting: BLOCKED_BY_CDN .*retrying in 1\d s/),
      expect.stringMatching(/^Waiting: SERVICE_UNAVAILABLE /),
      expect.stringMatching(/^Waiting: NETWORK /),
      expect.stringMatching(/^Waiting: NOT_JSON /),
    ]);
    expect(presigns).toBe(2);
    consoleErrors.length = 0; // Chromium logs each refused request; they were the point.
  });

  it('shows a failed image as "may recover", keeps following it, and shows it ready when it recovers', async () => {
    let faked = 0;
    let redrivenId = '';
    // The document has no file name: the id comes from the upload form's answer.
    const onResponse = async (response: Response) => {
      const request = response.request();
      if (request.method() !== 'POST' || !isPresign(new URL(response.url()))) return;
      if (JSON.parse(request.postData() ?? '{}').filename !== 'redriven.png') return;
      redrivenId = ((await response.json()) as { id: string }).id;
    };
    page.on('response', onResponse);
    await page.route(isListing, async (route) => {
      const response = await route.fetch();
      const listing = (await response.json()) as { items: Record<string, unknown>[] };
      for (const item of listing.items) {
        if (!redrivenId || item.id !== redrivenId) continue;
        if (faked < 2) {
          faked += 1;
          Object.assign(item, { status: 'failed', variants: undefined });
          item.failure = {
            code: 'PROCESSING_FAILED',
            stage: 'render',
            detail: 'In the DLQ.',
            retryable: true,
          };
        } else {
          // After the redrive, a hostile link among the variants must not become an href or a src.
          const variants = item.variants as Variant[];
          if (variants[0]) variants[0].url = 'javascript:document.title="owned"';
        }
      }
      await route.fulfill({ response, json: listing });
    });
    try {
      await page.setInputFiles('#files', [
        { name: 'redriven.png', mimeType: 'image/png', buffer: await smallPng(90) },
      ]);
      const card = page.locator('li.upload', { hasText: 'redriven.png' });
      await page.locator('li.upload.is-failed', { hasText: 'redriven.png' }).waitFor({ timeout: 60_000 });
      await expect(card.locator('.state').textContent()).resolves.toMatch(
        /^Failed \(PROCESSING_FAILED\) — may recover/,
      );
      await page.locator('li.upload.is-ready', { hasText: 'redriven.png' }).waitFor({ timeout: 60_000 });
      await expect(card.locator('.problem').isVisible()).resolves.toBe(false);
      await expect(card.locator('a[href^="javascript"]').count()).resolves.toBe(0);
      await expect(card.locator('.links a').count()).resolves.toBeGreaterThan(0);
      await expect(page.locator('[src^="javascript"]').count()).resolves.toBe(0);
    } finally {
      await page.unroute(isListing);
      page.off('response', onResponse);
    }
    expect(faked).toBe(2);
    const states = (await cardLog('redriven.png')).flatMap((entry) => entry.state ?? []);
    expect(states).not.toContain('Rejected.');
  });

  it(
    `sends ${MANY} dropped files 4 at a time and follows them through the listing, not one public GET each`,
    async () => {
      const inFlight = { presign: 0, form: 0 };
      const most = { presign: 0, form: 0 };
      const counts = { publicReads: 0, listings: 0, throttled: 0, blocked: 0 };
      const answered = (response: Response) => {
        if (response.status() === 429) counts.throttled += 1;
        if (response.status() === 403 && response.headers().server === 'CloudFront') counts.blocked += 1;
      };
      const kindOf = (request: Request) => {
        const url = new URL(request.url());
        if (request.method() === 'POST' && url.origin === cloud.urls.aws) return 'form' as const;
        if (request.method() === 'POST' && isPresign(url)) return 'presign' as const;
        if (isPublicRead(url) && request.method() === 'GET') counts.publicReads += 1;
        if (isListing(url)) counts.listings += 1;
        return undefined;
      };
      const started = (request: Request) => {
        const kind = kindOf(request);
        if (!kind) return;
        inFlight[kind] += 1;
        most[kind] = Math.max(most[kind], inFlight[kind]);
      };
      const ended = (request: Request) => {
        const url = new URL(request.url());
        if (request.method() !== 'POST') return;
        if (url.origin === cloud.urls.aws) inFlight.form -= 1;
        else if (isPresign(url)) inFlight.presign -= 1;
      };
      page.on('request', started);
      page.on('response', answered);
      page.on('requestfinished', ended);
      page.on('requestfailed', ended);
      const since = Date.now();
      const files = await Promise.all(
        Array.from({ length: MANY }, async (_, i) => ({
          name: `many-${i}.png`,
          type: 'image/png',
          base64: (await smallPng((i * 15) % 256)).toString('base64'),
        })),
      );
      await drop(files);
      await expect
        .poll(() => page.locator('li.upload.is-ready', { hasText: 'many-' }).count(), {
          timeout: 90_000 + 3_000 * MANY,
        })
        .toBe(MANY);
      const minutes = (Date.now() - since) / 60_000;
      page.off('request', started);
      page.off('response', answered);
      page.off('requestfinished', ended);
      page.off('requestfailed', ended);
      expect(most.presign).toBeLessThanOrEqual(4);
      expect(most.form).toBeLessThanOrEqual(4);
      expect(counts.publicReads).toBe(0);
      // The listing's budget: 40 a minute, after a burst of 3, whatever the number of cards.
      expect(counts.listings).toBeLessThanOrEqual(3 + Math.ceil(40 * minutes));
      await expect(page.locator('li.upload.is-rejected', { hasText: 'many-' }).count()).resolves.toBe(0);
      expect(counts.blocked).toBe(0);
      // biome-ignore lint/suspicious/noConsole: the figure the README quotes (PICTURA_BROWSER_MANY=100)
      console.info(`${MANY} files in ${(minutes * 60).toFixed(1)} s: ${JSON.stringify({ most, ...counts })}`);
    },
    120_000 + 3_000 * MANY,
  );

  it('says in the key status line when the API refuses the key', async () => {
    await page.fill('#api-key', 'x'.repeat(24));
    await page.getByRole('button', { name: 'Remember key' }).click();
    await page.setInputFiles('#files', [
      { name: 'refused.png', mimeType: 'image/png', buffer: await smallPng(30) },
    ]);
    await page.locator('li.upload.is-refused', { hasText: 'refused.png' }).waitFor({ timeout: 20_000 });
    await expect(page.locator('#key-status').textContent()).resolves.toMatch(
      /^The API refused this key \(40[13] /,
    );
    consoleErrors.length = 0;
  });

  it('forgets the key on request', async () => {
    await page.getByRole('button', { name: 'Forget key' }).click();
    await expect(page.evaluate(`localStorage.getItem('pictura.apiKey')`)).resolves.toBeNull();
  });
});

/** Drops `files` on the drop zone as the browser delivers a drop: a DataTransfer holding them. */
async function drop(files: { name: string; type: string; base64: string }[]): Promise<void> {
  await page.evaluate(`(() => {
    const data = new DataTransfer();
    for (const file of ${JSON.stringify(files)}) {
      const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
      data.items.add(new File([bytes], file.name, { type: file.type }));
    }
    const zone = document.querySelector('#drop-zone');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  })()`);
}
