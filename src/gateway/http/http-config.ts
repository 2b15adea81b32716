/** What the HTTP side takes from the configuration (see src/app/config.ts). */
export interface HttpConfig {
  /** Origins allowed by CORS: '*' or a list. */
  corsOrigins: '*' | string[];
  bodyLimitBytes: number;
  signInPerMinute: number;
  writesPerMinute: number;
  /** How long a read that names a position waits for the read model to reach it. */
  readWaitMs: number;
  /** Trust X-Forwarded-For from this many proxies in front (for per-IP limits). */
  trustProxyHops: number;
}
