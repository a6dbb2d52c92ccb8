/**
 * What a job reports through, as the queue layer sees it: the worker is handed a factory and never
 * knows it is Slack (`src/slack/reporter.ts` makes the real one; main.ts wires it in).
 */
import type { Logger } from 'pino';

/** A file a job attaches to its thread (a chart). */
export interface JobAttachment {
  filename: string;
  title: string;
  data: Buffer;
}

/** One job's progress reporting: one message per job, updated in place, final state always delivered. */
export interface JobReporting {
  /** The thread the job reports into, once known. */
  readonly threadTs: string | undefined;
  /** Marks the job running and delivers its message (waiting for it a bounded time). */
  start(): Promise<void>;
  /** A named step begins (the one before it is done). */
  step(name: string, detail?: string): Promise<void>;
  /** Detail of the running step (coalesced). */
  progress(detail: string): void;
  info(text: string): void;
  warn(text: string): void;
  attach(file: JobAttachment): Promise<void>;
  done(outcome: string): Promise<void>;
  /**
   * The job's part is over but people must act before anything happens (an approval): delivers
   * "waiting for `waitingFor`" with `outcome`, never "done".
   */
  waiting(waitingFor: string, outcome: string): Promise<void>;
  fail(error: unknown): Promise<void>;
  cancelled(outcome: string): Promise<void>;
  /** Delivers what is pending now. */
  flush(): Promise<void>;
}

/**
 * What the queue layer may read of a reporter's checkpoint (kept in the job's data): where its
 * messages are and the steps so far (`/ops jobs` shows the running one).
 */
export interface ReporterCheckpoint {
  rootTs?: string;
  messageTs?: string;
  state: { steps: Array<{ name: string; state: string; startedAt: number; endedAt?: number }> };
}

/** What a job's reporter is made from. */
export interface ReporterSeed {
  jobId: string;
  /** Who asked, where, with what words (plain text), and when the job was queued. */
  request: { userId: string; channelId: string; threadTs?: string; text: string };
  queuedAt: number;
  /** What an earlier attempt checkpointed (absent on a first attempt). */
  checkpoint: ReporterCheckpoint | undefined;
  /** Checkpoints the reporter's state with the job. */
  persist(snapshot: ReporterCheckpoint): Promise<void>;
  logger: Logger;
}

/** Makes each job's reporter. */
export type ReporterFactory = (seed: ReporterSeed) => JobReporting;
