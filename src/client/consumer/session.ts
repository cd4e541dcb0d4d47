// One session per group generation (or per run, without a group): the fetch loops and workers run
// while it is active; a rebalance, a stop or a crash ends it. `wake` tells sleeping loops that
// there is something new (queued data, a resumed partition, the end).

export type SessionEnd = 'rejoin' | 'stop' | 'crash';

export interface Session {
  active: boolean;
  generationId: number;
  ended: Promise<SessionEnd>;
  end(why: SessionEnd, error?: Error): void;
  error?: Error;
  fetchers: Promise<void>[];
  workers: Promise<void>[];
  heartbeatTimer: NodeJS.Timeout | null;
  wake(): void;
  waitForWork(): Promise<void>;
}

export function createSession(generationId: number): Session {
  let endResolve!: (why: SessionEnd) => void;
  let wakeResolve: (() => void) | null = null;
  let wakePromise: Promise<void> | null = null;
  const session: Session = {
    active: true,
    generationId,
    ended: new Promise((res) => { endResolve = res; }),
    end: (why, error) => {
      if (!session.active) return;
      session.active = false;
      if (error) session.error = error;
      session.wake();
      endResolve(why);
    },
    fetchers: [],
    workers: [],
    heartbeatTimer: null,
    wake: () => {
      const r = wakeResolve;
      wakeResolve = null;
      wakePromise = null;
      r?.();
    },
    waitForWork: () => (wakePromise ??= new Promise<void>((res) => { wakeResolve = res; })),
  };
  return session;
}
