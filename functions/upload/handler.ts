import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createS3Client } from '#shared/clients/s3.ts';
import { loadConfig } from '#shared/config.ts';
import { BadRequestError, UnsupportedMediaTypeError } from '#shared/errors.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { apiBaseUrl, header, requireKeyHolder } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { createLogger } from '#shared/logger.ts';
import { imageDocumentPath } from '#shared/model.ts';
import { apiStep } from '#shared/observability/image-log.ts';
import { uploadAccepted } from '#shared/observability/metrics.ts';
import { observability } from '#shared/observability/middleware.ts';
import { imageRepository } from '#shared/repository.ts';
import { createDirectUpload, createPresignedUpload, parsePresignRequest } from '#shared/uploads.ts';

const config = loadConfig();
// Only the clients this function calls: each SDK client costs cold-start time to load.
const deps = {
  config,
  s3: createS3Client(config),
  images: imageRepository(config),
};
const logger = createLogger('upload');

function bodyBytes(event: APIGatewayProxyEvent): Buffer {
  return Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
}

/** The JSON body; the HTTP stack has already refused one over 16 KiB (413 `BODY_TOO_LARGE`). */
function parseJson(event: APIGatewayProxyEvent): unknown {
  try {
    return JSON.parse(bodyBytes(event).toString('utf8'));
  } catch {
    // No cause: JSON.parse's message quotes the input, and a refusal's log stays small.
    throw new BadRequestError('INVALID_JSON', 'the body is not valid JSON');
  }
}

/** An accepted upload: `UploadsAccepted{mode}`, and the image's keys and `upload` step in the log. */
function accepted(
  mode: 'presigned' | 'direct',
  imageId: string,
  event: APIGatewayProxyEvent,
  started: number,
) {
  uploadAccepted(mode);
  apiStep(logger, 'upload', { imageId, uploadRequestId: event.requestContext?.requestId }, started);
}

/** `POST /v1/images`: a JSON body asks for a presigned POST (201); an `image/*` body is the file itself (202). */
const route = httpHandler(logger, config, async (event) => {
  const started = performance.now();
  const owner = requireKeyHolder(event);
  const contentType = header(event, 'content-type') ?? '';
  // `delete` is the token holder's route (no key needed); the owner may also DELETE `self` with its key.
  const base = apiBaseUrl(event, config.apiPublicUrl);
  const withLinks = <T extends { id: string }>(upload: T) => {
    const self = `${base}${imageDocumentPath(upload.id)}`;
    return [{ ...upload, links: { self, delete: `${self}/token` } }, { Location: self }] as const;
  };
  if (/^application\/json\b/i.test(contentType)) {
    const request = parsePresignRequest(parseJson(event), config.limits.maxUploadBytes);
    const upload = await createPresignedUpload(deps, owner, request, event.requestContext?.requestId);
    accepted('presigned', upload.id, event, started);
    logger.info('presigned upload created', { id: upload.id, contentType: request.contentType });
    return json(201, ...withLinks(upload));
  }
  if (/^image\//i.test(contentType)) {
    const requestId = event.requestContext?.requestId;
    const upload = await createDirectUpload(deps, owner, contentType, bodyBytes(event), requestId);
    accepted('direct', upload.id, event, started);
    logger.info('direct upload stored', { id: upload.id });
    return json(202, ...withLinks(upload));
  }
  throw new UnsupportedMediaTypeError(
    'UNSUPPORTED_MEDIA_TYPE',
    'send application/json to get a presigned upload, or the image itself with its image/* Content-Type',
  );
});

/** Tracing and metrics wrap the HTTP stack (shared/observability/middleware.ts). */
export const handler = middy(route).use(observability());
