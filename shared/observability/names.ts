/**
 * Names of Pictura's metrics, shared by the functions (shared/observability/metrics.ts) and the dashboard and
 * alarms (infra/constructs/observability.ts), without loading Powertools into the CDK app.
 */
import type { PipelineStage } from '../model.ts';

export const NAMESPACE = 'Pictura';
export const SERVICE = 'pictura';

/** The metric names; README "Observability" lists them with their units and dimensions. */
export const METRIC = {
  uploadsAccepted: 'UploadsAccepted',
  imagesReady: 'ImagesReady',
  imagesRejected: 'ImagesRejected',
  uploadToReady: 'UploadToReady',
  renderTime: 'RenderTime',
  imageRenderTime: 'ImageRenderTime',
  bytesIn: 'BytesIn',
  bytesOut: 'BytesOut',
  messagesParked: 'MessagesParked',
  purgeTime: 'PurgeTime',
  coldStart: 'ColdStart',
} as const;

/** The queue a parked message came from (the `queue` dimension). */
export type PipelineQueue = PipelineStage;
