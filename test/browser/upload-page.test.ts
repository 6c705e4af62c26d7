import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
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

let cloud: TestCloud;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  cloud = await startTestCloud();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

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

  it('remembers the API key in this browser', async () => {
    await page.fill('#api-key', cloud.apiKey);
    await page.getByRole('button', { name: 'Remember key' }).click();
    await expect(page.locator('#key-status').textContent()).resolves.toContain(cloud.apiKey.slice(-4));
    await page.reload();
    await expect(page.inputValue('#api-key')).resolves.toBe(cloud.apiKey);
  });

  it('uploads two files by the keyboard-operable file input: one becomes ready, one is rejected', async () => {
    await page.focus('#files');
    await expect(page.evaluate('document.activeElement?.id')).resolves.toBe('files');
    await page.setInputFiles('#files', [
      { name: 'sunset.jpg', mimeType: 'image/jpeg', buffer: await landscape() },
      { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these are notes, not a picture\n') },
    ]);
    const ready = page.locator('li.upload.is-ready');
    const rejected = page.locator('li.upload.is-rejected');
    await ready.waitFor({ timeout: 60_000 });
    await rejected.waitFor({ timeout: 60_000 });
    await expect(ready.locator('h3').textContent()).resolves.toBe('sunset.jpg');
    await expect(ready.locator('progress').evaluate((p: { value: number }) => p.value)).resolves.toBe(100);
    await expect(rejected.locator('h3').textContent()).resolves.toBe('notes.jpg');
    await expect(rejected.locator('.problem').textContent()).resolves.toContain('NOT_AN_IMAGE');
    await expect(ready.locator('.facts').textContent()).resolves.toMatch(/image\/jpeg.*KiB.*800×600/);
  });

  it('renders the variant the API lists, at its own width', async () => {
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
    await expect(
      page
        .locator('li.upload.is-ready .frame')
        .evaluate((el: { dataset: { placeholder?: string } }) => el.dataset.placeholder),
    ).resolves.toBe('shown');
    await expect(
      page
        .locator('li.upload.is-ready .frame')
        .evaluate((el: { style: { backgroundImage: string } }) => el.style.backgroundImage),
    ).resolves.toMatch(/^url\("data:image\/png;base64,/);
    await expect(img.evaluate((el: { naturalWidth: number }) => el.naturalWidth)).resolves.toBe(shown?.width);
    // Every variant is linked, each with its own copy button.
    const links = page.locator('li.upload.is-ready .links a');
    await expect(links.count()).resolves.toBe(image.variants.length);
    await expect(
      page.locator('li.upload.is-ready .links button').first().getAttribute('aria-label'),
    ).resolves.toMatch(/^Copy link to sunset\.jpg/);
  });

  it('never serves the original through the CDN, while the page and variants are there', async () => {
    expect((await fetch(`${cloud.urls.cdn}/originals/${readyId}`)).status).toBe(404);
    expect((await fetch(shown?.url ?? '')).status).toBe(200);
  });

  it('has no serious or critical axe-core violations, with images shown', async () => {
    // Evaluated over the DevTools protocol, which the page's CSP does not govern (an injected <script> would
    // be refused, as it should be).
    await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate<{ id: string; impact: string; targets: string[][] }[]>(
      `axe.run(document).then((results) => results.violations.map((v) =>
        ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) })))`,
    );
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
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
    await page.locator('li.upload.is-ready').waitFor({ state: 'detached', timeout: 20_000 });
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
    // A drop as the browser delivers it: a DataTransfer holding the file, dispatched on the zone.
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob('${png.toString('base64')}'), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      const zone = document.querySelector('#drop-zone');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    })()`);
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
    const card = page.locator('li.upload.is-rejected', { hasText: '.txt' });
    await card.waitFor({ timeout: 20_000 });
    await expect(card.locator('h3').textContent()).resolves.toBe(name);
    // The upload function refuses the declared type before any upload form is made (415).
    await expect(card.locator('.problem strong').textContent()).resolves.toBe('UNSUPPORTED_MEDIA_TYPE');
    await expect(card.locator('img:not(.preview)').count()).resolves.toBe(0);
    await expect(page.title()).resolves.toBe('Pictura: upload images');
    // Chromium logs the refused request itself, and nothing else.
    expect(consoleErrors).toEqual([expect.stringMatching(/status of 415 .*\/v1\/images\)$/)]);
  });

  it('forgets the key on request', async () => {
    await page.getByRole('button', { name: 'Forget key' }).click();
    await expect(page.evaluate(`localStorage.getItem('pictura.apiKey')`)).resolves.toBeNull();
  });
});
