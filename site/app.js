// @ts-check
// The upload page: plain DOM, no framework (one form, one file input, a list of cards; a framework would
// weigh more than the page). It speaks the API on this same origin (the CDN's /v1/* behaviour) and posts
// each file straight to S3 with the presigned POST the API returns. Type-checked by `npm run typecheck`
// (tsconfig.site.json: checkJs with the DOM library).
import {
  backoffMs,
  checkKey,
  classifyAnswer,
  createBudget,
  createLimiter,
  formatBytes,
  limitFromDetail,
  retryAfterMs,
  SNIFF_BYTES,
  safeHttpUrl,
  sniffType,
} from './lib.js';
import { thumbHashToDataURL } from './vendor/thumbhash.js';

const KEY_STORAGE = 'pictura.apiKey';
/** Files sent at once (presign request, then the form to S3): 100 dropped files must not be 100 requests. */
const UPLOAD_CONCURRENCY = 4;
/** Polling of the owner's listing: the first wait, its growth per round, its ceiling. */
const POLL_FIRST_MS = 1000;
const POLL_GROWTH = 1.5;
const POLL_MAX_MS = 8000;
/** While every followed image is `failed` (its work is in a DLQ until an operator redrives it). */
const FAILED_POLL_MS = 15_000;
/** At least this long after CloudFront's WAF page: its rate rule counts over a sliding minute. */
const WAF_WAIT_MS = 10_000;
/** Pages of the listing read per round, at most, to find the followed images (100 each, newest first). */
const LIST_PAGES = 3;
/** Rounds an image may be missing from the listing before it is read on its own (public route). */
const UNSEEN_ROUNDS = 3;

/** Keyed listing reads and public reads each get their own shared budget (requests a minute, burst). */
const listBudget = createBudget(40, 3);
/** 60 a minute: a fifth of the CDN's per-IP rate for public routes (300, infra/constructs/waf.ts). */
const publicBudget = createBudget(60, 5);
const uploads = createLimiter(UPLOAD_CONCURRENCY);

/**
 * @typedef {{ name: string, url: string, width: number, height: number, format: string, bytes: number }} Variant
 * @typedef {{ code?: string, detail?: string }} Reason
 * @typedef {{ id: string, status: string, placeholder?: string, variants?: Variant[], rejection?: Reason,
 *   failure?: Reason, original?: { width?: number, height?: number, bytes?: number, contentType?: string } }} ImageDocument
 * @typedef {{ url: string, fields: Record<string, string> }} UploadForm
 * @typedef {{ item: HTMLElement, name: string, progress: HTMLProgressElement, state: HTMLElement,
 *   problem: HTMLElement, preview: HTMLImageElement, frame: HTMLElement, facts: HTMLElement,
 *   links: HTMLElement, deleteButton: HTMLButtonElement, id?: string, xhr?: XMLHttpRequest,
 *   deleted?: boolean, unseen: number, failed?: boolean }} Card
 */

/**
 * The element `selector` finds under `root`; the page's markup guarantees it is there.
 * @template {Element} [E=HTMLElement]
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {E}
 */
function $(selector, root = document) {
  const element = root.querySelector(selector);
  if (!element) throw new Error(`the page has no ${selector}`);
  return /** @type {E} */ (/** @type {unknown} */ (element));
}

const keyInput = /** @type {HTMLInputElement} */ ($('#api-key'));
const announcer = $('#announcer');

/**
 * Says `message` to screen readers (the page's one polite live region).
 * @param {string} message
 */
function announce(message) {
  announcer.textContent = '';
  // A new text node after a tick, so the same message twice is announced twice.
  setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}

/**
 * Resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The remembered key, `''` when none. */
function apiKey() {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

/**
 * Writes the key status line: `note` when given (a refusal), else whether a key is remembered.
 * @param {string} [note]
 */
function showKeyStatus(note) {
  const key = apiKey();
  $('#key-status').textContent =
    note ??
    (key
      ? `A key ending in …${key.slice(-4)} is remembered in this browser.`
      : 'No key remembered: enter one to upload.');
}

/** What went wrong with a request, and whether retrying may help (`kind`, from lib.js classifyAnswer). */
class ApiError extends Error {
  /**
   * @param {{ code: string, detail: string, status: number, kind: 'transient' | 'key' | 'final',
   *   retryAfterMs?: number | undefined }} trouble
   */
  constructor(trouble) {
    super(trouble.detail);
    this.code = trouble.code;
    this.status = trouble.status;
    this.kind = trouble.kind;
    this.retryAfterMs = trouble.retryAfterMs;
  }
}

/**
 * The body of `response` when it is JSON, else `undefined` (a CDN's or proxy's HTML page).
 * @param {Response} response
 * @returns {Promise<any>}
 */
async function jsonBody(response) {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/**
 * Calls the API with the remembered key. Resolves with the JSON body (`undefined` for 204); rejects with an
 * {@link ApiError}: `transient` for a refused connection, 429/5xx, a 200 that is not JSON and CloudFront's
 * WAF page (an HTML 403); `key` when the API refuses the key (RFC 9457 problem with 401/403).
 * @param {string} path
 * @param {RequestInit & { headers?: Record<string, string> }} [init]
 * @returns {Promise<any>}
 */
async function api(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { 'x-api-key': apiKey(), ...init.headers } });
  } catch {
    throw new ApiError({
      code: 'NETWORK',
      detail: 'The API could not be reached.',
      status: 0,
      kind: 'transient',
    });
  }
  if (response.status === 204) return undefined;
  const body = await jsonBody(response);
  if (response.ok && body !== undefined) return body;
  const status = response.status;
  const isProblem = body !== null && typeof body === 'object' && !response.ok;
  const plainCode = response.ok ? 'NOT_JSON' : status === 403 ? 'BLOCKED_BY_CDN' : `HTTP_${status}`;
  throw new ApiError({
    code: isProblem && body.code ? String(body.code) : plainCode,
    detail: isProblem
      ? String(body.detail ?? body.title ?? '')
      : `The answer was not the API's (HTTP ${status}).`,
    status,
    kind: response.ok ? 'transient' : classifyAnswer(status, isProblem),
    retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
  });
}

/**
 * How long to wait before retry number `attempt` after `error`: what `Retry-After` asks, else backoff;
 * never under {@link WAF_WAIT_MS} after CloudFront's WAF page.
 * @param {ApiError} error
 * @param {number} attempt
 */
function retryDelay(error, attempt) {
  const backoff = backoffMs(attempt, 1000, 20_000);
  const floor = error.code === 'BLOCKED_BY_CDN' ? WAF_WAIT_MS : 0;
  // A Retry-After of hours would leave the card stuck: two minutes at most, then ask again.
  return Math.max(Math.min(error.retryAfterMs ?? backoff, 120_000), floor);
}

/**
 * Runs `call` until it succeeds, retrying transient errors up to `attempts` times in all; `onWait` is told
 * each wait. Key and final errors are thrown at once.
 * @template T
 * @param {() => Promise<T>} call
 * @param {number} attempts
 * @param {(error: ApiError, ms: number) => void} onWait
 * @returns {Promise<T>}
 */
async function withRetries(call, attempts, onWait) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || error.kind !== 'transient' || attempt + 1 >= attempts) throw error;
      const ms = retryDelay(error, attempt);
      onWait(error, ms);
      await sleep(ms);
    }
  }
}

/**
 * Posts the presigned form with the file last, reporting progress (0–100) as it goes. The request is kept
 * on the card, so that Delete can abort it. Rejects with an {@link ApiError} (`transient` for a network
 * error or an S3 5xx).
 * @param {Card} card
 * @param {UploadForm} upload
 * @param {File} file
 * @returns {Promise<void>}
 */
function postForm(card, upload, file) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', file);
    const xhr = new XMLHttpRequest();
    card.xhr = xhr;
    xhr.open('POST', upload.url);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) card.progress.value = Math.round((event.loaded / event.total) * 100);
    });
    /** @param {number} status @param {string} detail */
    const fail = (status, detail) =>
      reject(
        new ApiError({
          code: 'UPLOAD_FAILED',
          detail,
          status,
          kind: status === 0 || status >= 500 ? 'transient' : 'final',
        }),
      );
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else fail(xhr.status, `The storage refused the file (HTTP ${xhr.status}).`);
    });
    xhr.addEventListener('error', () => fail(0, 'The file could not be sent to storage.'));
    xhr.addEventListener('abort', () => fail(-1, 'The upload was stopped.'));
    xhr.send(form);
  });
}

/**
 * One card per file: its elements, and what the page knows of its image.
 * @param {File} file
 * @returns {Card}
 */
function createCard(file) {
  const template = /** @type {HTMLTemplateElement} */ ($('#upload-template'));
  const item = /** @type {HTMLElement} */ (template.content.firstElementChild?.cloneNode(true));
  /** @type {Card} */
  const card = {
    item,
    name: file.name,
    progress: $('.progress', item),
    state: $('.state', item),
    problem: $('.problem', item),
    preview: $('.preview', item),
    frame: $('.frame', item),
    facts: $('.facts', item),
    links: $('.links', item),
    deleteButton: $('.delete', item),
    unseen: 0,
  };
  $('.name', item).textContent = file.name;
  card.progress.setAttribute('aria-label', `Upload of ${file.name}`);
  card.deleteButton.setAttribute('aria-label', `Delete ${file.name}`);
  card.deleteButton.addEventListener('click', () => deleteImage(card));
  $('#uploads').prepend(item);
  $('#empty').hidden = true;
  setState(card, 'Waiting for its turn…');
  return card;
}

/**
 * Sets the card's state line and its one state class (`is-ready`, `is-rejected`, `is-failed`,
 * `is-refused`, `is-waiting`, or none while it moves along).
 * @param {Card} card
 * @param {string} text
 * @param {string} [stateClass]
 */
function setState(card, text, stateClass) {
  card.state.textContent = text;
  for (const name of ['is-ready', 'is-rejected', 'is-failed', 'is-refused', 'is-waiting']) {
    card.item.classList.toggle(name, name === stateClass);
  }
}

/**
 * Shows `code` and `detail` in the card's problem box (`undefined` code: hides it).
 * @param {Card} card
 * @param {string | undefined} code
 * @param {string} [detail]
 */
function setProblem(card, code, detail) {
  card.problem.hidden = code === undefined;
  card.problem.textContent = '';
  if (code === undefined) return;
  const strong = document.createElement('strong');
  strong.textContent = code;
  card.problem.append(strong, ` ${detail ?? ''}`);
}

/**
 * The image's status is `rejected`: final, with the API's rejection code.
 * @param {Card} card
 * @param {Reason | undefined} rejection
 */
function showRejected(card, rejection) {
  const code = rejection?.code ?? 'REJECTED';
  setProblem(card, code, rejection?.detail);
  card.progress.hidden = true;
  setState(card, 'Rejected.', 'is-rejected');
  announce(`${card.name}: rejected, ${code}. ${rejection?.detail ?? ''}`);
}

/**
 * The file never became an image: refused before or while it was sent (a local check, or a final 4xx).
 * @param {Card} card
 * @param {string} code
 * @param {string} detail
 */
function showRefused(card, code, detail) {
  setProblem(card, code, detail);
  card.progress.hidden = true;
  setState(card, 'Not uploaded.', 'is-refused');
  announce(`${card.name}: not uploaded, ${code}. ${detail}`);
}

/**
 * Transient trouble (throttling, the CDN's rate rule, a refused connection): the card says it waits.
 * @param {Card} card
 * @param {ApiError} error
 * @param {number} ms
 */
function showWaiting(card, error, ms) {
  setState(
    card,
    `Waiting: ${error.code} (${error.message}); retrying in ${Math.ceil(ms / 1000)} s…`,
    'is-waiting',
  );
}

/**
 * The image is `failed`: its work went to a dead-letter queue. Not final (an operator's redrive moves it
 * back: failed → processing → ready, shared/model.ts), so the page keeps following it, slowly.
 * @param {Card} card
 * @param {Reason | undefined} failure
 */
function showFailed(card, failure) {
  const code = failure?.code ?? 'FAILED';
  setProblem(card, code, failure?.detail);
  if (!card.failed) announce(`${card.name}: failed, ${code}; it may recover.`);
  card.failed = true;
  setState(
    card,
    `Failed (${code}) — may recover; checked again every ${FAILED_POLL_MS / 1000} s.`,
    'is-failed',
  );
}

/**
 * The variant to show in the card: `small` if there is one, else the narrowest at least 256 wide.
 * @param {Variant[]} variants
 * @returns {Variant | undefined}
 */
function displayVariant(variants) {
  const named = variants.find((v) => v.name === 'small');
  if (named) return named;
  const sorted = [...variants].sort((a, b) => a.width - b.width);
  return sorted.find((v) => v.width >= 256) ?? sorted[sorted.length - 1];
}

/**
 * Draws the document's ThumbHash (base64) as the image: a blurred preview at the right aspect ratio. It
 * also stays behind the frame (a CSSOM background, which the CSP allows) while the variant loads.
 * @param {Card} card
 * @param {ImageDocument} image
 */
function showPlaceholder(card, image) {
  if (!image.placeholder || card.frame.dataset.placeholder) return;
  try {
    const hash = Uint8Array.from(atob(image.placeholder), (c) => c.charCodeAt(0));
    const url = thumbHashToDataURL(hash);
    card.frame.style.backgroundImage = `url("${url}")`;
    card.frame.dataset.placeholder = 'shown';
    card.preview.src = url;
    card.preview.alt = `${card.name}, blurred preview while the sizes are rendered`;
    if (image.original?.width && image.original.height) {
      card.preview.width = image.original.width;
      card.preview.height = image.original.height;
    }
    card.preview.hidden = false;
  } catch {
    // A placeholder the page cannot decode only costs the preview.
  }
}

/**
 * Appends one term and its value to a description list.
 * @param {HTMLElement} list
 * @param {string} term
 * @param {string} value
 */
function addFact(list, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

/**
 * Copies `url` to the clipboard and says so (or says why not).
 * @param {string} url
 * @param {string} name
 */
async function copy(url, name) {
  try {
    await navigator.clipboard.writeText(url);
    announce(`Link to ${name} copied.`);
  } catch {
    announce('Copying is not allowed here; select the link and copy it instead.');
  }
}

/**
 * Lists each variant with a link and a copy button; a variant whose `url` is not http(s) is left out.
 * @param {Card} card
 * @param {ImageDocument} image
 */
function showLinks(card, image) {
  card.links.replaceChildren();
  for (const variant of image.variants ?? []) {
    const url = safeHttpUrl(variant.url, location.href);
    if (!url) continue;
    const li = document.createElement('li');
    const link = document.createElement('a');
    link.href = url;
    link.textContent = `${variant.name} · ${variant.width}×${variant.height} ${variant.format}, ${formatBytes(variant.bytes)}`;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary copy';
    button.textContent = 'Copy link';
    button.setAttribute('aria-label', `Copy link to ${card.name}, ${variant.name}`);
    button.addEventListener('click', () => copy(url, `${card.name} ${variant.name}`));
    li.append(link, button);
    card.links.append(li);
  }
  card.links.hidden = card.links.children.length === 0;
}

/**
 * Shows the variant in place of the placeholder once it has loaded (the placeholder stays until then).
 * @param {Card} card
 * @param {Variant | undefined} variant
 */
function showVariant(card, variant) {
  const url = variant && safeHttpUrl(variant.url, location.href);
  if (!variant || !url) return;
  const loader = new Image();
  loader.addEventListener('load', () => {
    card.preview.dataset.variant = variant.name;
    card.preview.width = variant.width;
    card.preview.height = variant.height;
    card.preview.src = url;
    card.preview.alt = card.name;
    card.preview.hidden = false;
  });
  loader.src = url;
}

/**
 * The image is `ready`: its variant, facts and links.
 * @param {Card} card
 * @param {ImageDocument} image
 */
function showReady(card, image) {
  showVariant(card, displayVariant(image.variants ?? []));
  card.facts.replaceChildren();
  const original = image.original ?? {};
  addFact(card.facts, 'Format', original.contentType ?? '');
  addFact(card.facts, 'Size', formatBytes(original.bytes));
  if (original.width) addFact(card.facts, 'Dimensions', `${original.width}×${original.height}`);
  card.facts.hidden = false;
  showLinks(card, image);
  setProblem(card, undefined);
  setState(card, 'Ready.', 'is-ready');
  announce(`${card.name}: ready, ${image.variants?.length ?? 0} sizes.`);
}

/** Images followed until they settle, by id. @type {Map<string | undefined, Card>} */
const followed = new Map();
let following = false;
/** Set while the follower waits out an error: a new image then does not cut the wait short. */
let backingOff = false;
/** @type {(() => void) | undefined} */
let wakeFollower;

/**
 * Shows what the API says of the card's image; `true` once it is settled (`ready` or `rejected`).
 * @param {Card} card
 * @param {ImageDocument} image
 * @returns {boolean}
 */
function update(card, image) {
  showPlaceholder(card, image);
  if (image.status === 'ready') {
    showReady(card, image);
    return true;
  }
  if (image.status === 'rejected') {
    showRejected(card, image.rejection);
    return true;
  }
  if (image.status === 'failed') {
    showFailed(card, image.failure);
    return false;
  }
  card.failed = false;
  setProblem(card, undefined);
  setState(card, image.status === 'processing' ? 'Rendering sizes…' : 'Checking the file…');
  return false;
}

/**
 * Starts following the card's image (one loop follows all of them).
 * @param {Card} card
 */
function follow(card) {
  followed.set(card.id, card);
  if (!following) void followLoop();
  else if (!backingOff) wakeFollower?.();
}

/**
 * Reads the owner's listing (`GET /v1/images`, the key's route: not counted by the CDN's per-IP rule for
 * public routes), up to {@link LIST_PAGES} pages while some followed image is not yet seen.
 * @returns {Promise<Map<string, ImageDocument>>}
 */
async function readListing() {
  /** @type {Map<string, ImageDocument>} */
  const seen = new Map();
  let cursor = '';
  for (let page = 0; page < LIST_PAGES; page += 1) {
    await listBudget.take();
    const query = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    /** @type {{ items?: ImageDocument[], nextCursor?: string | null }} */
    const listing = await api(`/v1/images?${query}`);
    for (const image of listing.items ?? []) seen.set(image.id, image);
    if (!listing.nextCursor || [...followed.keys()].every((id) => id && seen.has(id))) break;
    cursor = listing.nextCursor;
  }
  return seen;
}

/**
 * Reads one image on its public route (one missing from the listing for a while), within the public budget.
 * @param {Card} card
 * @returns {Promise<ImageDocument | undefined>}
 */
async function readOne(card) {
  await publicBudget.take();
  try {
    return await api(`/v1/images/${encodeURIComponent(card.id ?? '')}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    followed.delete(card.id);
    showRefused(card, 'IMAGE_NOT_FOUND', 'The image is gone (deleted elsewhere?).');
    return undefined;
  }
}

/** One polling round over every followed image. */
async function pollRound() {
  const seen = await readListing();
  for (const [id, card] of [...followed]) {
    let image = id ? seen.get(id) : undefined;
    card.unseen = image ? 0 : card.unseen + 1;
    if (!image && card.unseen >= UNSEEN_ROUNDS) image = await readOne(card);
    if (image && followed.has(id) && update(card, image)) followed.delete(id);
  }
}

/**
 * The wait before the next round after a good one: growing from {@link POLL_FIRST_MS} with each round, and
 * {@link FAILED_POLL_MS} when only `failed` images are left.
 * @param {number} round rounds since an image was last added
 */
function nextWait(round) {
  if ([...followed.values()].every((card) => card.failed)) return FAILED_POLL_MS;
  return Math.min(POLL_MAX_MS, POLL_FIRST_MS * POLL_GROWTH ** round);
}

/**
 * A failed round: a refused key is said in the key status line, and every followed card (but the `failed`
 * ones, which say so already) shows that it waits.
 * @param {unknown} error
 * @param {number} failures failed rounds in a row before this one
 * @returns {number} the wait before the next round
 */
function roundFailed(error, failures) {
  const trouble =
    error instanceof ApiError
      ? error
      : new ApiError({ code: 'ERROR', detail: String(error), status: 0, kind: 'transient' });
  if (trouble.kind === 'key') keyRefused(trouble);
  const wait = trouble.kind === 'transient' ? retryDelay(trouble, failures) : FAILED_POLL_MS;
  for (const card of followed.values()) {
    if (!card.failed) showWaiting(card, trouble, wait);
  }
  return wait;
}

/** Follows every image in {@link followed} until each is `ready` or `rejected`. */
async function followLoop() {
  following = true;
  let [round, failures, wait] = [0, 0, POLL_FIRST_MS];
  while (followed.size > 0) {
    const woken = await Promise.race([
      sleep(wait).then(() => false),
      new Promise((resolve) => (wakeFollower = () => resolve(true))),
    ]);
    wakeFollower = undefined;
    if (woken) round = 0;
    try {
      await pollRound();
      [round, failures, backingOff] = [round + 1, 0, false];
      wait = nextWait(round);
    } catch (error) {
      wait = roundFailed(error, failures);
      [failures, backingOff] = [failures + 1, true];
    }
  }
  following = false;
}

/**
 * The key was refused by the API: the key status line says so.
 * @param {ApiError} error
 */
function keyRefused(error) {
  showKeyStatus(
    `The API refused this key (${error.status} ${error.code}): check it, or remember another one.`,
  );
}

/**
 * The type to declare for `file`: its sniffed type (see lib.js), else what the browser says, else
 * application/octet-stream (which the API refuses with 415, naming it).
 * @param {File} file
 */
async function declaredType(file) {
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  return sniffType(head) ?? (file.type || 'application/octet-stream');
}

/**
 * Asks the API for an upload form, retrying transient errors.
 * @param {Card} card
 * @param {File} file
 * @returns {Promise<{ id: string, upload: UploadForm }>}
 */
async function requestForm(card, file) {
  const body = JSON.stringify({
    contentType: await declaredType(file),
    contentLength: file.size,
    filename: file.name,
  });
  setState(card, 'Asking for an upload form…');
  return withRetries(
    () => api('/v1/images', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    8,
    (error, ms) => showWaiting(card, error, ms),
  );
}

/**
 * Says why the file was not uploaded: a refused key in the key line too, a size over the limit with the limit
 * the API named.
 * @param {Card} card
 * @param {File} file
 * @param {unknown} error
 */
function uploadFailed(card, file, error) {
  if (card.deleted) return;
  if (!(error instanceof ApiError)) return showRefused(card, 'ERROR', String(error));
  if (error.kind === 'key') keyRefused(error);
  const limit = error.code === 'FILE_TOO_LARGE' ? limitFromDetail(error.message) : undefined;
  const detail = limit
    ? `The file is ${formatBytes(file.size)}; the API takes files up to ${formatBytes(limit)}.`
    : error.message;
  showRefused(card, error.code, detail);
}

/**
 * Uploads one file (within the page's concurrency), then follows its image.
 * @param {Card} card
 * @param {File} file
 */
async function uploadFile(card, file) {
  if (file.size === 0)
    return showRefused(card, 'EMPTY_FILE', 'The file is empty (0 bytes); nothing was sent.');
  try {
    await uploads.run(async () => {
      if (card.deleted) return;
      const created = await requestForm(card, file);
      card.id = created.id;
      card.deleteButton.hidden = false;
      await withRetries(
        () => {
          setState(card, 'Uploading…');
          return postForm(card, created.upload, file);
        },
        3,
        (error, ms) => showWaiting(card, error, ms),
      );
    });
    if (card.deleted) return;
    card.progress.value = 100;
    announce(`${file.name}: uploaded, now processing.`);
    setState(card, 'Checking the file…');
    follow(card);
  } catch (error) {
    uploadFailed(card, file, error);
  }
}

/**
 * Deletes the card's image with the key, stopping its upload if it is still being sent.
 * @param {Card} card
 */
async function deleteImage(card) {
  card.deleteButton.disabled = true;
  card.deleted = true;
  card.xhr?.abort();
  const wasFollowed = followed.delete(card.id);
  try {
    await withRetries(
      () => api(`/v1/images/${encodeURIComponent(card.id ?? '')}`, { method: 'DELETE' }),
      4,
      () => {},
    );
    card.item.remove();
    $('#empty').hidden = $('#uploads').children.length > 0;
    announce(`${card.name} deleted.`);
    $('#upload-heading').focus();
  } catch (error) {
    card.deleteButton.disabled = false;
    card.deleted = false;
    if (wasFollowed) follow(card);
    if (error instanceof ApiError && error.kind === 'key') keyRefused(error);
    const why = error instanceof ApiError ? `${error.code}. ${error.message}` : String(error);
    announce(`${card.name} could not be deleted: ${why}`);
  }
}

/**
 * Starts uploading each of `files` (at most {@link UPLOAD_CONCURRENCY} at once), or asks for a key first.
 * @param {File[]} files
 */
function uploadAll(files) {
  if (!apiKey()) {
    announce('Enter and remember an API key first.');
    showKeyStatus('Enter and remember an API key first.');
    keyInput.focus();
    return;
  }
  for (const file of files) void uploadFile(createCard(file), file);
}

/** The key form: remember (after {@link checkKey}) and forget. */
function wireKeyForm() {
  // A key remembered by an earlier version of the page was not checked: one fetch cannot send is dropped.
  const stored = apiKey() ? checkKey(apiKey()) : { key: '' };
  if ('problem' in stored) localStorage.removeItem(KEY_STORAGE);
  keyInput.value = apiKey();
  showKeyStatus('problem' in stored ? `The remembered key was dropped. ${stored.problem}` : undefined);
  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!keyInput.checkValidity()) return keyInput.reportValidity();
    const checked = checkKey(keyInput.value);
    if ('problem' in checked) {
      showKeyStatus(checked.problem);
      return keyInput.focus();
    }
    localStorage.setItem(KEY_STORAGE, checked.key);
    keyInput.value = checked.key;
    showKeyStatus();
    wakeFollower?.();
  });
  $('#forget-key').addEventListener('click', () => {
    localStorage.removeItem(KEY_STORAGE);
    keyInput.value = '';
    showKeyStatus();
  });
}

/** The file input (the keyboard route) and the drop zone around it. */
function wireFiles() {
  const input = /** @type {HTMLInputElement} */ ($('#files'));
  input.addEventListener('change', () => {
    uploadAll([...(input.files ?? [])]);
    input.value = '';
  });
  const zone = $('#drop-zone');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('is-dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('is-dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('is-dragging');
    uploadAll([...(event.dataTransfer?.files ?? [])]);
  });
}

wireKeyForm();
wireFiles();
