import { readFileSync } from 'node:fs';
import middy from '@middy/core';
import { Ajv } from 'ajv';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as emit from '#shared/observability/metrics.ts';
import { observability } from '#shared/observability/middleware.ts';

/**
 * The metric lines Pictura's functions print are CloudWatch embedded metric format (EMF), checked against
 * the JSON schema AWS publishes (test/fixtures/emf/schema.json, copied from
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html,
 * see test/fixtures/emf/SOURCE.md) and against the rules the same page states in prose, and carry exactly
 * the names, units and dimensions the README documents — never the image id as a dimension.
 */
// Lambda sets this on an on-demand instance; Powertools reports a cold start only then (the local cloud sets it too).
vi.hoisted(() => {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
});

const schema = JSON.parse(readFileSync(new URL('../fixtures/emf/schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

type EmfLine = {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit?: string }[];
    }[];
  };
} & Record<string, unknown>;

/** The documented catalogue (README "Observability"): unit and dimension set of every metric. */
const DOCUMENTED: Record<string, { unit: string; dimensions: string[] }> = {
  UploadsAccepted: { unit: 'Count', dimensions: ['service', 'mode'] },
  ImagesReady: { unit: 'Count', dimensions: ['service'] },
  ImagesRejected: { unit: 'Count', dimensions: ['service', 'code'] },
  UploadToReady: { unit: 'Milliseconds', dimensions: ['service'] },
  RenderTime: { unit: 'Milliseconds', dimensions: ['service', 'variant'] },
  ImageRenderTime: { unit: 'Milliseconds', dimensions: ['service'] },
  BytesIn: { unit: 'Bytes', dimensions: ['service'] },
  BytesOut: { unit: 'Bytes', dimensions: ['service'] },
  MessagesParked: { unit: 'Count', dimensions: ['service', 'queue', 'reason'] },
  PurgeTime: { unit: 'Milliseconds', dimensions: ['service'] },
  ColdStart: { unit: 'Count', dimensions: ['service', 'function_name'] },
};

const context = {
  functionName: 'Pictura-FunctionsThumbnail-abc',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

let printed: string[];
beforeEach(() => {
  printed = [];
  // Powertools writes EMF through its own Console on process.stdout.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** The EMF lines printed (one JSON object per line, with `_aws`). */
function emfLines(): EmfLine[] {
  return printed
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfLine);
}

/** Rules of the specification's prose that its schema does not express. */
function proseViolations(line: EmfLine): string[] {
  const problems: string[] = [];
  for (const directive of line._aws.CloudWatchMetrics) {
    for (const set of directive.Dimensions)
      for (const name of set)
        if (typeof line[name] !== 'string') problems.push(`dimension ${name} is not a string member`);
    for (const { Name } of directive.Metrics) {
      const value = line[Name];
      const values = Array.isArray(value) ? value : [value];
      if (values.length > 100 || !values.every((v) => typeof v === 'number' && Number.isFinite(v)))
        problems.push(`metric ${Name} is not a number or an array of at most 100 numbers`);
    }
  }
  return problems;
}

/** One simulated invocation, wrapped like every function (shared/observability/middleware.ts). */
const invocation = (work: () => void) =>
  middy(async () => {
    work();
    return 'done';
  }).use(observability());

describe('EMF lines of every documented metric', () => {
  it('are valid against AWS schema and prose, with the documented names, units and dimensions', async () => {
    const createdAt = new Date(Date.now() - 2_500).toISOString();
    await invocation(() => {
      emit.uploadAccepted('presigned');
      emit.uploadAccepted('direct');
      emit.imageRejected('NOT_AN_IMAGE');
      emit.variantRendered('thumb', 12);
      emit.variantRendered('small', 15);
      emit.imageRendered(40.5);
      emit.bytesIn(123_456);
      emit.bytesOut(2_048);
      emit.bytesOut(4_096);
      emit.imageReady(createdAt, new Date());
      emit.messageParked('ingest', 'MALFORMED_MESSAGE');
      emit.imagePurged(33);
    })({}, context);

    const lines = emfLines();
    expect(lines.length).toBeGreaterThan(0);
    const seen = new Map<string, { unit: string | undefined; dimensions: string[][] }>();
    for (const line of lines) {
      expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
      expect(proseViolations(line)).toEqual([]);
      for (const directive of line._aws.CloudWatchMetrics) {
        expect(directive.Namespace).toBe('Pictura');
        for (const metric of directive.Metrics)
          seen.set(metric.Name, { unit: metric.Unit, dimensions: directive.Dimensions });
      }
      expect(line.service).toBe('pictura');
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(DOCUMENTED).sort());
    for (const [name, { unit, dimensions }] of seen) {
      expect({ name, unit, dimensions }).toEqual({
        name,
        unit: DOCUMENTED[name]?.unit,
        dimensions: [DOCUMENTED[name]?.dimensions],
      });
    }
    // The values the functions meant: an upload→ready of about 2.5 s, both variants' bytes out.
    const buffered = lines.find((line) => 'UploadToReady' in line);
    expect(buffered?.UploadToReady).toBeGreaterThanOrEqual(2_500);
    expect(buffered?.UploadToReady).toBeLessThan(60_000);
    expect(buffered?.BytesOut).toEqual([2_048, 4_096]);
    expect(lines.find((line) => 'ColdStart' in line)?.function_name).toBe(context.functionName);
  });

  it('never name an image: no dimension or member holds an image id', async () => {
    const imageId = 'AbCdEfGhIjKlMnOpQrStUv';
    await invocation(() => {
      emit.imageRejected(imageId); // a code that is not a stable code never becomes a dimension value
      emit.messageParked('render', `image ${imageId} failed`);
      emit.variantRendered(`../${imageId}/x`, 5);
    })({}, context);
    const lines = emfLines();
    expect(lines.length).toBe(3);
    for (const line of lines) {
      expect(validate(line)).toBe(true);
      expect(JSON.stringify(line)).not.toContain(imageId);
      const names = line._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat());
      expect(names).not.toContain('imageId');
    }
    expect(lines.map((line) => line.code ?? line.reason ?? line.variant)).toEqual([
      'OTHER',
      'OTHER',
      'OTHER',
    ]);
  });

  it('are flushed once per invocation, on an error too', async () => {
    const failing = middy(async () => {
      emit.imagePurged(10);
      throw new Error('purge failed');
    }).use(observability());
    await expect(failing({}, context)).rejects.toThrow('purge failed');
    const purge = emfLines().filter((line) => 'PurgeTime' in line);
    expect(purge).toHaveLength(1);
    expect(validate(purge[0])).toBe(true);
  });

  it('write nothing for an invocation that measured nothing but its cold start', async () => {
    await invocation(() => {})({}, context);
    expect(emfLines().every((line) => Object.keys(line).includes('ColdStart'))).toBe(true);
    expect(printed.join('')).not.toContain('No application metrics to publish');
  });
});

describe('the schema check itself', () => {
  it('refuses what EMF does not allow (so the checks above can fail)', () => {
    const line = (unit: string, dimensions: string[], timestamp: number | null = 1574109732004) => ({
      _aws: {
        ...(timestamp === null ? {} : { Timestamp: timestamp }),
        CloudWatchMetrics: [
          { Namespace: 'Pictura', Dimensions: [dimensions], Metrics: [{ Name: 'X', Unit: unit }] },
        ],
      },
      service: 'pictura',
      X: 1,
    });
    expect(validate(line('Count', ['service']))).toBe(true);
    expect(validate(line('Millisecond', ['service']))).toBe(false);
    expect(
      validate(
        line(
          'Count',
          Array.from({ length: 10 }, (_, i) => `d${i}`),
        ),
      ),
    ).toBe(false);
    expect(validate(line('Count', ['service'], null))).toBe(false);
    const badMember = { ...line('Count', ['service']), service: 3 } as unknown as EmfLine;
    expect(proseViolations(badMember)).toEqual(['dimension service is not a string member']);
  });
});
