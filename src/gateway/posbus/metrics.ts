export interface Counters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  skippedFrames: number;
  /** Times a client was found lagging by its acks, and times one caught up again. */
  lagged: number;
  caughtUp: number;
  /** Messages over their class's budget, dropped. */
  droppedMessages: number;
  kicks: number;
  resumeHits: number;
  resumeMisses: number;
  /** How long the last ticks took (ms), the most recent thousand. */
  tickMs: number[];
}

export const newCounters = (): Counters => ({
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  skippedFrames: 0,
  lagged: 0,
  caughtUp: 0,
  droppedMessages: 0,
  kicks: 0,
  resumeHits: 0,
  resumeMisses: 0,
  tickMs: [],
});

export const recordTick = (counters: Counters, ms: number) => {
  counters.tickMs.push(ms);
  if (counters.tickMs.length > 1000) counters.tickMs.splice(0, counters.tickMs.length - 1000);
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/** The gauges of the moment, besides the counters. */
export interface Gauges {
  connections: number;
  worlds: number;
  relay: 'nats' | 'none';
  usersOnOtherGateways: number;
  hub: unknown;
  presenceLease: unknown;
}

/** Message rates since the previous reading, and everything counted so far. */
export const metricsReader = (counters: Counters) => {
  let previous = { at: Date.now(), in: 0, out: 0 };
  return (gauges: Gauges): Record<string, unknown> => {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - previous.at) / 1000);
    const rates = {
      messagesInPerSecond: (counters.messagesIn - previous.in) / seconds,
      messagesOutPerSecond: (counters.messagesOut - previous.out) / seconds,
    };
    previous = { at: now, in: counters.messagesIn, out: counters.messagesOut };
    const { hub, ...rest } = gauges;
    return {
      ...rest,
      ...rates,
      messagesIn: counters.messagesIn,
      messagesOut: counters.messagesOut,
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      tickMsP50: percentile(counters.tickMs, 50),
      tickMsP99: percentile(counters.tickMs, 99),
      skippedFrames: counters.skippedFrames,
      lagged: counters.lagged,
      caughtUp: counters.caughtUp,
      droppedMessages: counters.droppedMessages,
      kicks: counters.kicks,
      resumeHits: counters.resumeHits,
      resumeMisses: counters.resumeMisses,
      hub,
    };
  };
};
