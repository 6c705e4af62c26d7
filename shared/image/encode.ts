import { VARIANT_CONTENT_TYPES, type VariantFormat } from '../variants.ts';
import type { DecodedPixels } from './decode.ts';
import type { PlannedVariant } from './plan.ts';
import { type Sharp, sharp } from './sharp.ts';

/** One encoded variant, ready to store. */
export interface RenderedVariant {
  name: string;
  format: VariantFormat;
  contentType: string;
  /** File extension for the object key, without the dot. */
  extension: string;
  width: number;
  height: number;
  /** Encoded size; equals `body.length`. */
  bytes: number;
  body: Buffer;
}

const EXTENSIONS: Record<VariantFormat, string> = { webp: 'webp', avif: 'avif', jpeg: 'jpg', png: 'png' };

/**
 * Encoder effort, where the encoder has one. 4 of libwebp's 0–6 and of sharp's AVIF 0–9 is the usual
 * latency/size balance. bench/results/render.md measures libwebp's range on a 2048-wide variant: higher
 * efforts cost about twice the CPU for a fifth fewer bytes, and a variant is rendered while the uploader
 * waits for it; lower ones halve the encode but add about a tenth to the bytes every viewer downloads,
 * which costs more than the compute it saves once an image is viewed a few times.
 */
export const ENCODER_EFFORT = 4;

/** JPEG has no transparency; what was transparent is shown on white, as on most pages. */
const JPEG_BACKGROUND = '#ffffff';

function encoder(pipeline: Sharp, format: VariantFormat, quality: number, hasAlpha: boolean): Sharp {
  switch (format) {
    case 'webp':
      return pipeline.webp({ quality, effort: ENCODER_EFFORT });
    case 'avif':
      return pipeline.avif({ quality, effort: ENCODER_EFFORT });
    case 'jpeg':
      return (hasAlpha ? pipeline.flatten({ background: JPEG_BACKGROUND }) : pipeline).jpeg({
        quality,
        progressive: true,
      });
    case 'png':
      // PNG is lossless: the spec's quality has no meaning here, so it is not mapped to anything.
      return pipeline.png();
  }
}

/**
 * Encodes one planned variant from the decoded pixels. The pipeline starts from raw memory, so it carries
 * no EXIF, XMP, IPTC or ICC from the original: GPS positions cannot leak, and the pixels are already
 * sRGB, which is what an untagged image means on the web.
 */
export async function encodeVariant(pixels: DecodedPixels, plan: PlannedVariant): Promise<RenderedVariant> {
  const { spec } = plan;
  let pipeline = sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels },
  });
  if (spec.fit === 'cover') {
    // Saliency-based crop: faces and detail win over the geometric centre.
    pipeline = pipeline.resize(plan.width, plan.height, { fit: 'cover', position: 'attention' });
  } else if (plan.width !== pixels.width || plan.height !== pixels.height) {
    pipeline = pipeline.resize(plan.width, plan.height, { fit: 'fill' });
  }
  const { data, info } = await encoder(pipeline, spec.format, spec.quality, pixels.channels === 4).toBuffer({
    resolveWithObject: true,
  });
  return {
    name: spec.name,
    format: spec.format,
    contentType: VARIANT_CONTENT_TYPES[spec.format],
    extension: EXTENSIONS[spec.format],
    width: info.width,
    height: info.height,
    bytes: data.length,
    body: data,
  };
}
