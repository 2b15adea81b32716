/**
 * PostgreSQL settings of the embedded database. PGlite's WebAssembly heap grows to hold what
 * PostgreSQL allocates and never shrinks, so every buffer sized for a server with gigabytes to
 * spare stays resident for the life of the process. These sizes keep an idle server near 150 MiB
 * of WebAssembly memory instead of 200–650 MiB, at no measured cost to appends, reads or rebuilds
 * (`npm run bench -- projections eventstore`): files are read through the operating system's page
 * cache, which PostgreSQL's own buffer cache would only duplicate here.
 */
export const pgliteSettings: readonly string[] = [
  // Default 128MB: the largest single allocation in the heap.
  'shared_buffers=16MB',
  // One backend runs in single-user mode; 100 connections only size shared tables that stay empty.
  'max_connections=8',
  'wal_buffers=1MB',
  'temp_buffers=2MB',
  // Index builds after a rebuild's load; 64MB by default.
  'maintenance_work_mem=16MB',
];
