/** A minimal HTTP client for the Pictura API, used by the integration tests and the load benchmark. */

/**
 * The image states a polling client stops at (`failed`: the work is in a DLQ, see the API contract); the
 * others (`pending`, `processing`) still change.
 */
export const TERMINAL: ReadonlySet<string> = new Set(['ready', 'rejected', 'failed']);

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface UploadResult {
  id: string;
  status: string;
  deleteToken: string;
  upload?: { url: string; method: string; fields: Record<string, string>; expiresAt: string };
  links: { self: string };
}

export interface VariantDocument {
  name: string;
  url: string;
  width: number;
  height: number;
  format: string;
  contentType: string;
  bytes: number;
}

export interface ImageDocument {
  id: string;
  status: string;
  variants: VariantDocument[];
  original?: { contentType: string; bytes: number; width: number; height: number; sha256: string };
  rejection?: { code: string; detail: string };
  [field: string]: unknown;
}

async function call<T>(url: string, init: RequestInit): Promise<ApiResponse<T>> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : {};
  } catch {
    // Not JSON: keep the text so a failing assertion shows it.
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export class PicturaClient {
  readonly #base: string;
  readonly #key: string;

  constructor(baseUrl: string, apiKey: string) {
    this.#base = baseUrl.replace(/\/$/, '');
    this.#key = apiKey;
  }

  /** `POST /v1/images` with the file as the body (202). */
  uploadDirect(bytes: Uint8Array, contentType: string): Promise<ApiResponse<UploadResult>> {
    return call(`${this.#base}/v1/images`, {
      method: 'POST',
      headers: { 'x-api-key': this.#key, 'content-type': contentType },
      body: new Uint8Array(bytes),
    });
  }

  /** `POST /v1/images` with JSON (201 and a presigned POST). */
  presign(contentType: string, contentLength: number): Promise<ApiResponse<UploadResult>> {
    return call(`${this.#base}/v1/images`, {
      method: 'POST',
      headers: { 'x-api-key': this.#key, 'content-type': 'application/json' },
      body: JSON.stringify({ contentType, contentLength }),
    });
  }

  /** Posts the file with the presigned form, as a browser `<form>` would (multipart/form-data). */
  async postForm(
    upload: NonNullable<UploadResult['upload']>,
    bytes: Uint8Array,
    contentType: string,
  ): Promise<number> {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([new Uint8Array(bytes)], { type: contentType }), 'upload');
    const response = await fetch(upload.url, { method: 'POST', body: form });
    await response.arrayBuffer();
    return response.status;
  }

  get(id: string): Promise<ApiResponse<ImageDocument>> {
    return call(`${this.#base}/v1/images/${encodeURIComponent(id)}`, { method: 'GET' });
  }

  list(
    query: Record<string, string> = {},
  ): Promise<ApiResponse<{ items: ImageDocument[]; nextCursor: string | null }>> {
    const search = new URLSearchParams(query).toString();
    return call(`${this.#base}/v1/images${search ? `?${search}` : ''}`, {
      headers: { 'x-api-key': this.#key },
    });
  }

  /**
   * With a delete token: `DELETE /v1/images/{id}/token` (`Authorization: Bearer`, no key); without one, the
   * owner's `DELETE /v1/images/{id}` with the client's key.
   */
  delete(id: string, deleteToken?: string): Promise<ApiResponse> {
    const image = `${this.#base}/v1/images/${encodeURIComponent(id)}`;
    return deleteToken
      ? call(`${image}/token`, { method: 'DELETE', headers: { authorization: `Bearer ${deleteToken}` } })
      : call(image, { method: 'DELETE', headers: { 'x-api-key': this.#key } });
  }

  /** Polls until the image reaches a state a client stops polling at (`ready`, `rejected` or `failed`). */
  async waitUntilSettled(id: string, timeoutMs = 60_000): Promise<ImageDocument> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await this.get(id);
      if (status === 200 && TERMINAL.has(body.status)) return body;
      if (Date.now() > deadline)
        throw new Error(`image ${id} still ${body.status ?? status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}
