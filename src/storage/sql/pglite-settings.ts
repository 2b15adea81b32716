/**
 * PostgreSQL settings of the embedded database. PGlite's WebAssembly heap grows to hold what
 * PostgreSQL allocates and never shrinks, so every buffer sized for a server with gigabytes to
 * spare stays resident for the life of the process. These sizes trade speed for memory: on a
 * 100k-event rebuild (`BENCH_EVENTS=100000 BENCH_BACKENDS=PGlite npm run bench -- projections`)
 * the default 128MB of shared buffers gave 35.5k events/s at a 596 MiB peak, these 28.3k at
 * 486 MiB (48MB: 32.2k at 511 MiB), single runs on a quiet 2-core machine. The embedded default
 * is for laptops and small installs, where memory is the scarcer of the two.
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
