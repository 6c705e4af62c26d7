import { ImageRejectedError } from '../errors.ts';
import type { VariantSpec } from '../variants.ts';
import { type DecodeListener, decodeSource } from './decode.ts';
import { encodeVariant, type RenderedVariant } from './encode.ts';
import { planVariants } from './plan.ts';
import { probeImage } from './probe.ts';

export type { RenderedVariant } from './encode.ts';

/** A rendered variant and how long its encode took, from the shared decode to its bytes (`RenderTime`). */
export type TimedVariant = RenderedVariant & { encodeMs: number };

/** What libvips' encoders say when a picture is beyond what the format can hold. */
const ENCODER_REFUSAL = /too large|maximum supported image dimension|exceeds|dimension/i;

/** Limits a source must meet to be rendered (it was admitted by `inspectImage`; this is defence in depth). */
export interface RenderLimits {
  maxInputPixels: number;
}

/** Optional hooks; production code passes none. */
export interface RenderOptions {
  /** Observes every decode of the source (there is exactly one per call). */
  onDecode?: DecodeListener;
}

/**
 * Renders every variant of an original from one decode: the source is decoded once, upright, in sRGB, at
 * the size of the largest variant (see `planVariants`: nothing is upscaled, and variants the source is too
 * small for are skipped), then each variant is resized from that intermediate and encoded. Output carries
 * no metadata; transparency is kept except in JPEG (flattened on white); animations give their first frame.
 *
 * Why this shape (figures in bench/results/render.md): against a pipeline per variant, decoding once
 * saves three decodes; against decoding once at full size, decoding at the largest variant's size lets
 * JPEG and WebP decode at reduced scale and makes every later resize read a 2048-wide picture instead of
 * the whole original, which was both faster and lighter on peak memory for every source measured.
 * The variants are encoded concurrently: the encoders are mostly single-threaded, so this is what keeps
 * a second core busy. The largest WebP encode is the floor on the time; no pipeline change removes it.
 *
 * Throws `ImageRejectedError` (`TOO_MANY_PIXELS`, `CORRUPT_IMAGE`, …) when the source cannot be rendered.
 */
export async function renderVariants(
  source: Uint8Array | Buffer,
  specs: readonly VariantSpec[],
  limits: RenderLimits,
  options: RenderOptions = {},
): Promise<TimedVariant[]> {
  const probed = await probeImage(source, {
    maxBytes: Number.POSITIVE_INFINITY,
    maxInputPixels: limits.maxInputPixels,
  });
  const { metadata } = probed;
  const plan = planVariants(specs, metadata.autoOrient.width, metadata.autoOrient.height);
  if (plan.variants.length === 0) return [];
  const resize =
    plan.decodeWidth !== metadata.autoOrient.width || plan.decodeHeight !== metadata.autoOrient.height;
  const pixels = await decodeSource(
    source,
    { width: plan.decodeWidth, height: plan.decodeHeight, resize },
    limits.maxInputPixels,
    options.onDecode,
    probed,
  );
  try {
    return await Promise.all(
      plan.variants.map(async (variant) => {
        const started = performance.now();
        const encoded = await encodeVariant(pixels, variant);
        return { ...encoded, encodeMs: performance.now() - started };
      }),
    );
  } catch (error) {
    // An encoder refusing the picture's size or shape refuses it on every retry: a rejection. Anything
    // else (memory, say) may pass next time and is left to the queue's retries.
    const message = (error as Error).message;
    if (!ENCODER_REFUSAL.test(message)) throw error;
    throw new ImageRejectedError('UNRENDERABLE', `A variant could not be encoded: ${message}`, {
      cause: error,
    });
  }
}
