// The upload page: plain DOM, no framework (one form, one file input, a list of cards; a framework would
// weigh more than the page). It speaks the API on this same origin (the CDN's /v1/* behaviour) and posts
// each file straight to S3 with the presigned POST the API returns.
import { thumbHashToDataURL } from './vendor/thumbhash.js';

const KEY_STORAGE = 'pictura.apiKey';
const POLL_MS = [500, 1000, 2000, 3000];

const $ = (selector, root = document) => root.querySelector(selector);
const keyInput = $('#api-key');
const announcer = $('#announcer');

/** Says `message` to screen readers (the page's one polite live region). */
function announce(message) {
  announcer.textContent = '';
  // A new text node after a tick, so the same message twice is announced twice.
  setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

function showKeyStatus() {
  const key = apiKey();
  $('#key-status').textContent = key
    ? `A key ending in …${key.slice(-4)} is remembered in this browser.`
    : 'No key remembered: enter one to upload.';
}

/** Bytes as people read them (1 decimal, binary units). */
function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A problem+json answer (RFC 9457) as an Error carrying its `code` and `detail`. */
async function problemOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a gateway's plain-text answer): the status says enough.
  }
  const error = new Error(body.detail ?? body.title ?? `HTTP ${response.status}`);
  error.code = body.code ?? `HTTP_${response.status}`;
  return error;
}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { 'x-api-key': apiKey(), ...(init.headers ?? {}) },
  });
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? undefined : response.json();
}

/** Posts the presigned form with the file last, reporting progress (0–100) as it goes. */
function postForm(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', upload.url);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else
        reject(
          Object.assign(new Error(`The storage refused the file (HTTP ${xhr.status}).`), {
            code: 'UPLOAD_FAILED',
          }),
        );
    });
    xhr.addEventListener('error', () =>
      reject(Object.assign(new Error('The file could not be sent to storage.'), { code: 'UPLOAD_FAILED' })),
    );
    xhr.send(form);
  });
}

/** One card per file: its elements, and what the page knows of its image. */
function createCard(file) {
  const item = $('#upload-template').content.firstElementChild.cloneNode(true);
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
    id: undefined,
  };
  $('.name', item).textContent = file.name;
  card.progress.setAttribute('aria-label', `Upload of ${file.name}`);
  card.deleteButton.setAttribute('aria-label', `Delete ${file.name}`);
  card.deleteButton.addEventListener('click', () => deleteImage(card));
  $('#uploads').prepend(item);
  $('#empty').hidden = true;
  return card;
}

function setState(card, text) {
  card.state.textContent = text;
}

function showProblem(card, code, detail) {
  card.item.classList.add('is-rejected');
  card.problem.hidden = false;
  card.problem.textContent = '';
  const strong = document.createElement('strong');
  strong.textContent = code;
  card.problem.append(strong, ` ${detail ?? ''}`);
  card.progress.hidden = true;
  setState(card, 'Rejected.');
  announce(`${card.name}: rejected, ${code}. ${detail ?? ''}`);
}

/** The variant to show in the card: `small` if there is one, else the narrowest at least 256 wide. */
function displayVariant(variants) {
  const named = variants.find((v) => v.name === 'small');
  if (named) return named;
  const sorted = [...variants].sort((a, b) => a.width - b.width);
  return sorted.find((v) => v.width >= 256) ?? sorted[sorted.length - 1];
}

/**
 * Draws the document's ThumbHash (base64) as the image: a blurred preview at the right aspect ratio. It
 * also stays behind the frame (a CSSOM background, which the CSP allows) while the variant loads.
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
    if (image.original?.width) {
      card.preview.width = image.original.width;
      card.preview.height = image.original.height;
    }
    card.preview.hidden = false;
  } catch {
    // A placeholder the page cannot decode only costs the preview.
  }
}

function addFact(list, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

async function copy(url, name) {
  try {
    await navigator.clipboard.writeText(url);
    announce(`Link to ${name} copied.`);
  } catch {
    announce('Copying is not allowed here; select the link and copy it instead.');
  }
}

function showLinks(card, image) {
  card.links.replaceChildren();
  for (const variant of image.variants ?? []) {
    const li = document.createElement('li');
    const link = document.createElement('a');
    link.href = variant.url;
    link.textContent = `${variant.name} · ${variant.width}×${variant.height} ${variant.format}, ${formatBytes(variant.bytes)}`;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary copy';
    button.textContent = 'Copy link';
    button.setAttribute('aria-label', `Copy link to ${card.name}, ${variant.name}`);
    button.addEventListener('click', () => copy(variant.url, `${card.name} ${variant.name}`));
    li.append(link, button);
    card.links.append(li);
  }
  card.links.hidden = card.links.children.length === 0;
}

function showReady(card, image) {
  const variant = displayVariant(image.variants ?? []);
  if (variant) {
    card.preview.dataset.variant = variant.name;
    card.preview.width = variant.width;
    card.preview.height = variant.height;
    card.preview.src = variant.url;
    card.preview.alt = card.name;
    card.preview.hidden = false;
  }
  card.facts.replaceChildren();
  const original = image.original ?? {};
  addFact(card.facts, 'Format', original.contentType ?? '');
  addFact(card.facts, 'Size', formatBytes(original.bytes));
  if (original.width) addFact(card.facts, 'Dimensions', `${original.width}×${original.height}`);
  card.facts.hidden = false;
  showLinks(card, image);
  card.item.classList.add('is-ready');
  setState(card, 'Ready.');
  announce(`${card.name}: ready, ${image.variants?.length ?? 0} sizes.`);
}

/**
 * Polls the image until it settles (`ready`, `rejected` or `failed`: README, "API (v1)"), showing its
 * placeholder as soon as the document has one.
 */
async function follow(card) {
  for (let attempt = 0; ; attempt += 1) {
    const image = await api(`/v1/images/${encodeURIComponent(card.id)}`);
    showPlaceholder(card, image);
    if (image.status === 'ready') return showReady(card, image);
    if (image.status === 'rejected')
      return showProblem(card, image.rejection?.code ?? 'REJECTED', image.rejection?.detail);
    if (image.status === 'failed')
      return showProblem(card, image.failure?.code ?? 'FAILED', image.failure?.detail);
    setState(card, image.status === 'processing' ? 'Rendering sizes…' : 'Checking the file…');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS[Math.min(attempt, POLL_MS.length - 1)]));
  }
}

async function uploadFile(file) {
  const card = createCard(file);
  try {
    setState(card, 'Asking for an upload form…');
    const created = await api('/v1/images', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        contentType: file.type || 'application/octet-stream',
        contentLength: file.size,
        filename: file.name,
      }),
    });
    card.id = created.id;
    card.deleteButton.hidden = false;
    setState(card, 'Uploading…');
    await postForm(created.upload, file, (percent) => {
      card.progress.value = percent;
    });
    card.progress.value = 100;
    announce(`${file.name}: uploaded, now processing.`);
    await follow(card);
  } catch (error) {
    showProblem(card, error.code ?? 'ERROR', error.message);
  }
}

async function deleteImage(card) {
  card.deleteButton.disabled = true;
  try {
    await api(`/v1/images/${encodeURIComponent(card.id)}`, { method: 'DELETE' });
    card.item.remove();
    $('#empty').hidden = $('#uploads').children.length > 0;
    announce(`${card.name} deleted.`);
    $('#upload-heading').focus();
  } catch (error) {
    card.deleteButton.disabled = false;
    announce(`${card.name} could not be deleted: ${error.code}. ${error.message}`);
  }
}

function uploadAll(files) {
  if (!apiKey()) {
    announce('Enter and remember an API key first.');
    $('#key-status').textContent = 'Enter and remember an API key first.';
    keyInput.focus();
    return;
  }
  for (const file of files) uploadFile(file);
}

function wire() {
  keyInput.value = apiKey();
  showKeyStatus();
  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!keyInput.checkValidity()) return keyInput.reportValidity();
    localStorage.setItem(KEY_STORAGE, keyInput.value.trim());
    showKeyStatus();
  });
  $('#forget-key').addEventListener('click', () => {
    localStorage.removeItem(KEY_STORAGE);
    keyInput.value = '';
    showKeyStatus();
  });
  const input = $('#files');
  input.addEventListener('change', () => {
    uploadAll([...input.files]);
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

wire();
