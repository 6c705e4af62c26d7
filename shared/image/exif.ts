import readExif from 'exif-reader';

/**
 * The EXIF fields the service publishes. Built field by field from an allow-list, so nothing else
 * (above all GPS position, but also serial numbers and owner names) can ever reach a response.
 */
export interface SanitisedExif {
  /** EXIF Orientation, 1–8. */
  orientation?: number;
  make?: string;
  model?: string;
  /** When the photo was taken, ISO 8601; with an offset only when the camera recorded one. */
  takenAt?: string;
  lensModel?: string;
  /** Shutter time as photographers write it, e.g. `1/125` or `2`. */
  exposureTime?: string;
  fNumber?: number;
  iso?: number;
  /** Focal length in millimetres. */
  focalLength?: number;
}

type Tags = Record<string, unknown>;

const MAX_TEXT_LENGTH = 64;

// C0/C1 controls and the bidirectional overrides that can make a string display as something it is not.
const UNSAFE_CHARACTERS = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const clean = value.replace(UNSAFE_CHARACTERS, '').trim();
  if (clean.length === 0) return undefined;
  return [...clean].slice(0, MAX_TEXT_LENGTH).join('').trimEnd();
}

function positive(value: unknown, max: number): number | undefined {
  const number = Array.isArray(value) ? value[0] : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 && number <= max
    ? number
    : undefined;
}

function roundTo(value: number | undefined, decimals: number): number | undefined {
  if (value === undefined) return undefined;
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function exposure(value: unknown): string | undefined {
  const seconds = positive(value, 3600);
  if (seconds === undefined) return undefined;
  if (seconds >= 1) return String(roundTo(seconds, 1));
  return `1/${Math.round(1 / seconds)}`;
}

const OFFSET = /^[+-]\d{2}:\d{2}$/;
const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;

function pad(value: number, length = 2): string {
  return String(value).padStart(length, '0');
}

/**
 * EXIF dates are wall-clock times without a zone. exif-reader parses them as if they were UTC, so the UTC
 * fields give back the camera's wall clock; the zone is added only when OffsetTimeOriginal says it.
 */
function takenAt(value: unknown, offset: unknown): string | undefined {
  let local: string | undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime())) {
    local =
      `${pad(value.getUTCFullYear(), 4)}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}` +
      `T${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}:${pad(value.getUTCSeconds())}`;
  } else if (typeof value === 'string') {
    const match = EXIF_DATE.exec(value);
    if (match) local = `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}`;
  }
  // Cameras without a clock write zeros; a year 0000 date is no date.
  if (local === undefined || local.startsWith('0000')) return undefined;
  const zone = typeof offset === 'string' && OFFSET.test(offset.trim()) ? offset.trim() : '';
  return local + zone;
}

function parse(raw: Buffer): { image: Tags; photo: Tags } {
  try {
    const exif = readExif(raw);
    return { image: exif.Image ?? {}, photo: exif.Photo ?? {} };
  } catch {
    // A damaged EXIF block costs the image its camera details, not its place in the service.
    return { image: {}, photo: {} };
  }
}

/** Reads an EXIF block (as sharp's `metadata().exif` returns it) and keeps only the allow-listed fields. */
export function sanitiseExif(raw: Buffer | undefined): SanitisedExif {
  if (raw === undefined || raw.length === 0) return {};
  const { image, photo } = parse(raw);
  const orientation = image.Orientation;
  const fields: SanitisedExif = {
    orientation:
      typeof orientation === 'number' && Number.isInteger(orientation) && orientation >= 1 && orientation <= 8
        ? orientation
        : undefined,
    make: text(image.Make),
    model: text(image.Model),
    takenAt:
      takenAt(photo.DateTimeOriginal, photo.OffsetTimeOriginal) ??
      takenAt(photo.DateTimeDigitized, photo.OffsetTimeDigitized),
    lensModel: text(photo.LensModel),
    exposureTime: exposure(photo.ExposureTime),
    fNumber: roundTo(positive(photo.FNumber, 1000), 1),
    iso: roundTo(positive(photo.ISOSpeedRatings ?? photo.ISOSpeed, 10_000_000), 0),
    focalLength: roundTo(positive(photo.FocalLength, 100_000), 1),
  };
  // Absent fields are left out rather than set to undefined, so the record stays small in DynamoDB.
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined),
  ) as SanitisedExif;
}
