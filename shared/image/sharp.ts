import { availableParallelism } from 'node:os';
import sharpModule, { type SharpOptions } from 'sharp';

/**
 * The one place in the product that loads sharp (libvips). Every other module reaches it through this
 * file, so its process-wide settings are applied exactly once, before the first image is touched.
 */

// libvips' operation cache pays off when the same file is processed again with the same operations.
// A function instance sees every image once, so the cache would only hold dead pixel buffers and raise
// peak memory, which is what sizes (and bills) the Lambda.
sharpModule.cache(false);

// libvips threads work inside one pipeline; the renderer also runs one pipeline per variant side by side,
// and libwebp/libaom encode mostly on one thread each. One libvips thread per vCPU (Lambda grants vCPUs
// in proportion to memory) keeps the cores busy without oversubscribing them.
sharpModule.concurrency(Math.max(1, availableParallelism()));

/** The configured sharp factory. */
export const sharp = sharpModule;

/** sharp's types, re-exported so that type imports also go through this one module. */
export type { Metadata, Sharp, SharpOptions } from 'sharp';

/**
 * How strict decoding is. `error` also refuses truncated files (libjpeg's "premature end"), which
 * `none` would decode into a half-grey picture, while tolerating the benign warnings that many camera
 * files trigger and that `warning` would refuse.
 */
export const FAIL_ON = 'error' satisfies SharpOptions['failOn'];

/**
 * Options for every sharp instance that reads an untrusted original. `limitInputPixels` is a second
 * guard behind the header check in `probe.ts`: libvips refuses to decode anything larger.
 */
export function untrustedInput(maxInputPixels: number): SharpOptions {
  return { failOn: FAIL_ON, limitInputPixels: maxInputPixels };
}
