import type { BlobConfig } from './config.js';
import { openDiskBlobStore } from '../storage/blobs/disk.js';
import type { BlobStore } from '../storage/blobs/port.js';

// The S3 client is loaded only when configured: it is large, and most installs use the disk.
const openS3 = async (config: Extract<BlobConfig, { store: 's3' }>) => {
  const { openS3BlobStore } = await import('../storage/blobs/s3.js');
  return openS3BlobStore(config);
};

export const openBlobStore = (config: BlobConfig): Promise<BlobStore> =>
  config.store === 's3' ? openS3(config) : openDiskBlobStore(config.dir);

export const describeBlobStore = (config: BlobConfig) =>
  config.store === 's3'
    ? `s3 ${config.endpoint ? new URL(config.endpoint).host : 'aws'}/${config.bucket}/${config.prefix}`
    : `disk ${config.dir}`;
