/** Uploading and polling as a well-behaved client does: retrying 5xx and 429 answers with backoff. */
import { type PicturaClient, TERMINAL } from '#test/support/api-client.ts';

/** Whether an HTTP status is worth retrying (server errors and throttling). */
function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

async function backoff(attempt: number): Promise<void> {
  const ms = Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Uploads `bytes` directly (`POST /v1/images` with the body) or through a presigned POST, retrying
 * retryable answers up to `attempts` times (each retry of a direct upload, or of the presign step, makes a
 * new image: the one that failed may still exist, unknown to the client). Gives the id and the attempts it
 * took, or throws with the last answer.
 */
export async function uploadWithRetries(
  client: PicturaClient,
  bytes: Buffer,
  contentType: string,
  mode: 'direct' | 'presigned',
  attempts = 6,
): Promise<{ id: string; attempts: number }> {
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (mode === 'direct') {
      const response = await client.uploadDirect(bytes, contentType);
      if (response.status === 202) return { id: response.body.id, attempts: attempt };
      last = `upload answered ${response.status}`;
      if (!retryable(response.status)) break;
    } else {
      const presigned = await client.presign(contentType, bytes.length);
      if (presigned.status === 201 && presigned.body.upload) {
        // The form itself is retried on its own: S3 answers SlowDown/InternalError like any other call.
        for (let post = 1; post <= attempts; post += 1) {
          const status = await client.postForm(presigned.body.upload, bytes, contentType);
          if (status < 300) return { id: presigned.body.id, attempts: attempt + post - 1 };
          last = `presigned POST answered ${status}`;
          if (!retryable(status)) throw new Error(last);
          await backoff(post);
        }
        throw new Error(last);
      }
      last = `presign answered ${presigned.status}`;
      if (!retryable(presigned.status)) break;
    }
    await backoff(attempt);
  }
  throw new Error(last);
}

/**
 * Polls `GET /v1/images/{id}` until the image is terminal or `deadline` (epoch ms) passes; gives the last
 * status seen (`stuck:<status>` past the deadline). `onGet` sees each request's latency.
 */
export async function pollUntilTerminal(
  client: PicturaClient,
  id: string,
  deadline: number,
  intervalMs = 200,
  onGet?: (ms: number) => void,
): Promise<string> {
  for (;;) {
    const started = performance.now();
    const { status, body } = await client.get(id);
    onGet?.(performance.now() - started);
    if (status === 200 && TERMINAL.has(body.status)) return body.status;
    if (Date.now() > deadline) return `stuck:${status === 200 ? body.status : status}`;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
