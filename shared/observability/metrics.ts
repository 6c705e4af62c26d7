import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, NAMESPACE, type PipelineQueue, SERVICE } from './names.ts';

/**
 * Pictura's metrics, written as CloudWatch embedded metric format (EMF) lines on stdout by Powertools
 * Metrics: CloudWatch Logs turns them into metrics, with no API call and so no latency in the function
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 *
 * Namespace `Pictura`; every metric has the dimension `service` (`pictura`). Metrics that have another
 * dimension (`mode`, `code`, `variant`, `queue` and `reason`) are written at once, each on its own line,
 * because one EMF line gives every metric in it the same dimension values; the others are buffered and
 * flushed once per invocation by the `logMetrics` middleware (shared/observability/middleware.ts).
 * Dimension values come from small fixed sets; the image id is never one (each distinct value is a
 * separate, paid, metric), it is in the logs and on the trace instead.
 */
export { METRIC, NAMESPACE, type PipelineQueue, SERVICE } from './names.ts';

/**
 * Powertools warns on every flush with nothing buffered; here that is normal (a read, an empty batch), so
 * that one warning is dropped and every other warning (an invalid dimension, a key collision) still shows.
 */
const metricsLog = {
  ...console,
  warn: (message: string, ...rest: unknown[]) => {
    if (!String(message).startsWith('No application metrics to publish')) console.warn(message, ...rest);
  },
};

/** The one Metrics instance of a function, created at cold start and shared by every module. */
export const metrics = new Metrics({ namespace: NAMESPACE, serviceName: SERVICE, logger: metricsLog });

/** A stable code (`NOT_AN_IMAGE`, `PURGE_NOT_ALLOWED`) or `OTHER`: a dimension value must stay low-cardinality. */
export function dimensionCode(code: unknown): string {
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}

/** A variant name from the configured list (`thumb`, `small`, …), or `OTHER` for anything else. */
function variantName(name: string): string {
  return /^[a-z0-9][a-z0-9-]{0,31}$/.test(name) ? name : 'OTHER';
}

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Writes one metric with its own dimensions now, on its own line (see the module comment). */
function single(name: string, unit: Unit, value: number, dimensions: Record<string, string>): void {
  const line = metrics.singleMetric();
  for (const [key, dimensionValue] of Object.entries(dimensions)) line.addDimension(key, dimensionValue);
  line.addMetric(name, unit, value);
}

/** `UploadsAccepted` (Count), dimension `mode`: an upload the API accepted (201 presigned, 202 direct). */
export function uploadAccepted(mode: 'presigned' | 'direct'): void {
  single(METRIC.uploadsAccepted, MetricUnit.Count, 1, { mode });
}

/**
 * `ImagesReady` (Count) and `UploadToReady` (Milliseconds): an image turned `ready`, and how long after its
 * record was created (the upload request) — what a client waiting for its variants experiences.
 */
export function imageReady(createdAt: string, readyAt: Date): void {
  metrics.addMetric(METRIC.imagesReady, MetricUnit.Count, 1);
  const latency = readyAt.getTime() - Date.parse(createdAt);
  if (Number.isFinite(latency) && latency >= 0) {
    metrics.addMetric(METRIC.uploadToReady, MetricUnit.Milliseconds, latency);
  }
}

/** `ImagesRejected` (Count), dimension `code`: an upload that is not an acceptable image. */
export function imageRejected(code: string): void {
  single(METRIC.imagesRejected, MetricUnit.Count, 1, { code: dimensionCode(code) });
}

/** `RenderTime` (Milliseconds), dimension `variant`: one variant's encode and write. */
export function variantRendered(variant: string, milliseconds: number): void {
  single(METRIC.renderTime, MetricUnit.Milliseconds, milliseconds, { variant: variantName(variant) });
}

/** `ImageRenderTime` (Milliseconds): every variant of one image, decode to last write. */
export function imageRendered(milliseconds: number): void {
  metrics.addMetric(METRIC.imageRenderTime, MetricUnit.Milliseconds, milliseconds);
}

/** `BytesIn` (Bytes): an original's size, measured at ingest. */
export function bytesIn(bytes: number): void {
  metrics.addMetric(METRIC.bytesIn, MetricUnit.Bytes, bytes);
}

/** `BytesOut` (Bytes): one variant's encoded size, written to the bucket. */
export function bytesOut(bytes: number): void {
  metrics.addMetric(METRIC.bytesOut, MetricUnit.Bytes, bytes);
}

/**
 * `MessagesParked` (Count), dimensions `queue` and `reason`: a message that goes to its DLQ, parked at once
 * (a `PermanentError`'s code) or on its last receive (the error's code, else `RETRIES_EXHAUSTED`).
 */
export function messageParked(queue: PipelineQueue, reason: string): void {
  single(METRIC.messagesParked, MetricUnit.Count, 1, { queue, reason: dimensionCode(reason) });
}

/** `PurgeTime` (Milliseconds): one image's objects, CDN entries and record removed. */
export function imagePurged(milliseconds: number): void {
  metrics.addMetric(METRIC.purgeTime, MetricUnit.Milliseconds, milliseconds);
}
