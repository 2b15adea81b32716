/**
 * How large an image may be to be decoded at all. Decoding costs memory and time by the pixel
 * and by the row, whatever the file's size: a 130 KB PNG can declare 67 million pixels in one
 * row. So each side has a limit (a row is held whole while scaling), and so has the decoded
 * image (what a decoder that cannot stream, such as interlaced PNG's, holds at once).
 */
export interface ImageLimits {
  /** Longest side, in pixels. */
  maxSidePx: number;
  /** Width × height × channels × bytes per channel. */
  maxDecodedBytes: number;
}

/** What an image's header says, before any pixel is decoded. */
export interface ImageHeader {
  width: number;
  height: number;
  channels: number;
  /** 1 for 8-bit images, 2 for 16-bit ones, … */
  bytesPerChannel: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxSidePx: 16_384,
  // An 8-bit RGBA image of 5,792 × 5,792 pixels; about 140 MiB at the peak of one scaling.
  maxDecodedBytes: 128 * MiB,
};

export const decodedBytesOf = ({ width, height, channels, bytesPerChannel }: ImageHeader) =>
  width * height * channels * bytesPerChannel;

const count = (n: number) => n.toLocaleString('en-US');

/** Why an image of this size can never be made a texture here, or undefined when it can. */
export const imageSizeRefusal = (image: ImageHeader, limits: ImageLimits): string | undefined => {
  const { width, height } = image;
  if (width > limits.maxSidePx || height > limits.maxSidePx)
    return `the image is ${count(width)} × ${count(height)} pixels; no side may be longer than ${count(limits.maxSidePx)}`;
  const decoded = decodedBytesOf(image);
  if (decoded > limits.maxDecodedBytes)
    return `the image is ${count(width)} × ${count(height)} pixels of ${image.channels * image.bytesPerChannel} bytes, ${count(decoded)} bytes decoded; at most ${count(limits.maxDecodedBytes)} are`;
  return undefined;
};
