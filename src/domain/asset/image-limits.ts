/**
 * How large an image may be to be decoded at all. Decoding costs memory and time by the pixel
 * and by the row, whatever the file's size: a 130 KB PNG can declare 67 million pixels in one
 * row. So each side has a limit (a row, or a column, is held whole while scaling) and so has the
 * whole (what a decoder that cannot stream, such as interlaced PNG, holds at once).
 */
export interface ImageLimits {
  /** Longest side, in pixels. */
  maxSidePx: number;
  /** Width × height, in pixels. */
  maxPixels: number;
}

export interface ImageSize {
  width: number;
  height: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxSidePx: 16_384,
  maxPixels: 8192 * 8192,
};

const count = (n: number) => n.toLocaleString('en-US');

/** Why an image of this size can never be rendered here, or undefined when it can. */
export const imageSizeRefusal = (size: ImageSize, limits: ImageLimits): string | undefined => {
  const { width, height } = size;
  if (width > limits.maxSidePx || height > limits.maxSidePx)
    return `the image is ${count(width)} × ${count(height)} pixels; no side may exceed ${count(limits.maxSidePx)}`;
  if (width * height > limits.maxPixels)
    return `the image has ${count(width * height)} pixels (${count(width)} × ${count(height)}); at most ${count(limits.maxPixels)} are decoded`;
  return undefined;
};
