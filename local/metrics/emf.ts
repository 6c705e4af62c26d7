/**
 * Reads a log line in CloudWatch's embedded metric format (EMF) the way CloudWatch Logs does before it
 * publishes the metrics in it: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * A line that is not EMF (no `_aws` member) is not an error; an EMF line that breaks the specification is
 * rejected whole with a reason, and publishes nothing (CloudWatch counts those as EMFValidationErrors).
 */

import { MAX_EVENT_BYTES } from '../logs/store.ts';

/** One metric value set extracted from a line: one metric, in one dimension set, at one time. */
export interface MetricDatum {
  namespace: string;
  metricName: string;
  /** CloudWatch's unit (`None` when the definition names none). */
  unit: string;
  /** The dimension set's names with their values from the line, in the set's order. */
  dimensions: Array<{ Name: string; Value: string }>;
  /** `_aws.Timestamp`, epoch ms. */
  timestamp: number;
  /** One value, or several (an array member is a set of values for the same metric). */
  values: number[];
}

export type EmfResult =
  | { kind: 'none' }
  | { kind: 'metrics'; data: MetricDatum[] }
  | { kind: 'rejected'; reason: string };

/**
 * The units a `MetricDefinition` may name (the CloudWatch `StandardUnit` list,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html, Unit).
 */
export const UNITS: ReadonlySet<string> = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/** Limits from the specification: 100 metrics per directive, 30 dimensions per set, 100 values per metric. */
const MAX_METRICS = 100;
const MAX_DIMENSIONS = 30;
const MAX_VALUES = 100;
/**
 * Our bounds on what one line may expand to (the specification names none, and a 300 KB line of 20,000
 * identical sets would otherwise become 2,000,000 values and stall the local cloud): identical dimension
 * sets count once, a directive may have 30 distinct sets, and a line at most 100,000 values in all
 * (a directive at every other maximum, ten sets of 100 metrics of 100 values, still fits).
 */
export const MAX_DIMENSION_SETS = 30;
export const MAX_VALUES_PER_LINE = 100_000;
/** CloudWatch's limits for names (1–255 characters) and dimension values (1–1024). */
const MAX_NAME = 255;
const MAX_DIMENSION_VALUE = 1024;
/** EMF events are limited like any log event, to 1 MB (the specification's "maximum size"). */
const MAX_LINE_BYTES = 1_048_576;
/** What the log store leaves of a longer event (cut on a character boundary: up to 3 bytes less). */
const CUT_BYTES = MAX_EVENT_BYTES - 3;

class Rejection extends Error {}

function reject(reason: string): never {
  throw new Rejection(reason);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown, max = MAX_NAME): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max;
}

/**
 * The metrics in one log line. `none` for a line that is not an EMF document (not a JSON object, or no
 * `_aws` member); `rejected` (with why) for one whose `_aws` metadata or referenced members break the
 * specification: the root must be a JSON object with nothing around it; `_aws.Timestamp` a number;
 * `CloudWatchMetrics` an array of directives with a `Namespace` (1–255 characters), `Dimensions` (arrays of
 * at most 30 names of string members) and `Metrics` (at most 100 definitions with a `Name`, an optional
 * valid `Unit` and `StorageResolution` 1 or 60), each naming a member that is a number or an array of at most
 * 100 numbers. Repeated dimension sets count once; more than `MAX_DIMENSION_SETS` distinct sets in a
 * directive, or more than `MAX_VALUES_PER_LINE` values once expanded, reject the line (our bounds).
 */
export function readEmf(line: string): EmfResult {
  // Cheap tests first: the runtime hands over every line a function prints.
  if (!line.includes('"_aws"')) return { kind: 'none' };
  if (line.length > MAX_LINE_BYTES && Buffer.byteLength(line) > MAX_LINE_BYTES)
    return { kind: 'rejected', reason: 'larger than 1 MB' };
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch {
    // The log store cuts a longer event to its limit (logs/store.ts): an EMF line over 1 MB arrives cut, no
    // longer JSON, and is one CloudWatch would reject, not a line that is no EMF.
    const cut = line.length * 3 >= CUT_BYTES && Buffer.byteLength(line) >= CUT_BYTES;
    if (cut && line.trimStart().startsWith('{')) return { kind: 'rejected', reason: 'larger than 1 MB' };
    return { kind: 'none' };
  }
  if (!isObject(root) || !Object.hasOwn(root, '_aws')) return { kind: 'none' };
  try {
    return { kind: 'metrics', data: extract(root) };
  } catch (error) {
    if (error instanceof Rejection) return { kind: 'rejected', reason: error.message };
    throw error;
  }
}

function extract(root: Record<string, unknown>): MetricDatum[] {
  const aws = root._aws;
  if (!isObject(aws)) reject('_aws is not an object');
  const timestamp = aws.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0)
    reject('_aws.Timestamp is not a number of milliseconds');
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives)) reject('_aws.CloudWatchMetrics is not an array');
  const data: MetricDatum[] = [];
  let values = 0;
  for (const directive of directives) {
    const { sets, definitions, namespace } = readDirective(root, directive);
    // Counted before anything is expanded: the bound is on work as much as on memory.
    values += sets.length * definitions.reduce((sum, d) => sum + d.values.length, 0);
    if (values > MAX_VALUES_PER_LINE) reject(`expands to more than ${MAX_VALUES_PER_LINE} values`);
    for (const dimensions of sets)
      for (const d of definitions)
        data.push({ namespace, metricName: d.name, unit: d.unit, dimensions, timestamp, values: d.values });
  }
  return data;
}

function readDirective(root: Record<string, unknown>, directive: unknown) {
  if (!isObject(directive)) reject('a MetricDirective is not an object');
  const { Namespace: namespace, Dimensions: dimensionSets, Metrics: metrics } = directive;
  if (!isName(namespace)) reject('Namespace is not a string of 1–255 characters');
  if (!Array.isArray(dimensionSets)) reject(`Dimensions of ${namespace} is not an array`);
  if (!Array.isArray(metrics) || metrics.length > MAX_METRICS)
    reject(`Metrics of ${namespace} is not an array of at most ${MAX_METRICS}`);
  // No dimension set at all publishes the metrics without dimensions (our reading; Powertools never does it).
  const sets = distinctSets((dimensionSets.length === 0 ? [[]] : dimensionSets) as unknown[]).map((set) =>
    readDimensionSet(root, set),
  );
  const definitions = metrics.map((definition) => readDefinition(root, definition));
  return { namespace, sets, definitions };
}

/**
 * The directive's dimension sets with repeats removed (a set naming the same dimensions as an earlier one,
 * in any order, publishes the same metrics), at most `MAX_DIMENSION_SETS` of them.
 */
function distinctSets(sets: unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const set of sets) {
    if (!Array.isArray(set) || set.length > MAX_DIMENSIONS)
      reject(`a DimensionSet is not an array of at most ${MAX_DIMENSIONS} names`);
    const key = JSON.stringify([...set].sort());
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(set);
    if (out.length > MAX_DIMENSION_SETS)
      reject(`a directive has more than ${MAX_DIMENSION_SETS} distinct dimension sets`);
  }
  return out;
}

function readDimensionSet(root: Record<string, unknown>, set: unknown): MetricDatum['dimensions'] {
  if (!Array.isArray(set) || set.length > MAX_DIMENSIONS)
    reject(`a DimensionSet is not an array of at most ${MAX_DIMENSIONS} names`);
  return set.map((name) => {
    if (!isName(name)) reject('a dimension name is not a string of 1–255 characters');
    const value = root[name];
    if (!isName(value, MAX_DIMENSION_VALUE))
      reject(`dimension ${name} has no string value of 1–${MAX_DIMENSION_VALUE} characters`);
    return { Name: name, Value: value };
  });
}

function readDefinition(root: Record<string, unknown>, definition: unknown) {
  if (!isObject(definition)) reject('a MetricDefinition is not an object');
  const { Name: name, Unit: unit = 'None', StorageResolution: resolution } = definition;
  if (!isName(name)) reject('a metric Name is not a string of 1–255 characters');
  if (typeof unit !== 'string' || !UNITS.has(unit)) reject(`metric ${name} has an invalid Unit`);
  if (resolution !== undefined && resolution !== 1 && resolution !== 60)
    reject(`metric ${name} has a StorageResolution other than 1 or 60`);
  const member = root[name];
  const values = Array.isArray(member) ? member : [member];
  if (values.length === 0 || values.length > MAX_VALUES)
    reject(`metric ${name} has no values or more than ${MAX_VALUES}`);
  if (!values.every((v) => typeof v === 'number' && Number.isFinite(v)))
    reject(`metric ${name} is not a number or an array of numbers`);
  return { name, unit, values: values as number[] };
}
