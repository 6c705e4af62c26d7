import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * The function's X-Ray tracer (Powertools), created once at cold start. Lambda's active tracing
 * (infra/constructs/pictura-function.ts) starts a segment per invocation; the `captureLambdaHandler`
 * middleware adds a `## handler` subsegment, and {@link traceAwsClient} one per AWS call. It turns itself
 * off outside Lambda, and where `POWERTOOLS_TRACE_ENABLED=false` (the local cloud, which has no X-Ray
 * daemon: its timeline comes from the logs, see shared/observability/image-log.ts).
 *
 * Responses are never recorded as trace metadata (`POWERTOOLS_TRACER_CAPTURE_RESPONSE` is ignored): an
 * upload's answer carries its one-time delete token.
 */
export const tracer = new Tracer({ serviceName: 'pictura', captureHTTPsRequests: false });

/**
 * Traces an AWS SDK v3 client's calls as subsegments. A traced `SendMessage` also carries the trace header
 * (`X-Amzn-Trace-Id`), which SQS keeps on the message (`AWSTraceHeader`), and X-Ray links the Lambda consumer's
 * trace to the sender's: ingest → render and delete → purge are linked traces
 * (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html,
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-tracelinking.html). Returns the client itself when
 * tracing is off.
 */
export function traceAwsClient<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}

/**
 * Runs `work` in a subsegment annotated with `imageId`, so every trace that touched one image is found with
 * the X-Ray filter `annotation.imageId = "<id>"`. Needed because S3 event notifications carry no trace
 * header: the API request, the ingest, the render and the purge of an image are separate traces, joined
 * by this annotation (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html).
 */
export async function traceImage<T>(imageId: string, work: () => Promise<T>): Promise<T> {
  const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!parent) return work();
  const subsegment = parent.addNewSubsegment('### image');
  tracer.setSegment(subsegment);
  subsegment.addAnnotation('imageId', imageId);
  try {
    return await work();
  } catch (error) {
    subsegment.addError(error as Error);
    throw error;
  } finally {
    subsegment.close();
    tracer.setSegment(parent);
  }
}
