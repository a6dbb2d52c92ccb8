/**
 * The reporter: one progress message per job, in the request's thread, updated in place.
 *
 * Bursts of updates are coalesced so a message is edited at most once per `minIntervalMs` (Slack
 * allows about one `chat.update` per second per channel: https://api.slack.com/apis/rate-limits).
 * `ratelimited` answers and transient failures are retried by the WebClient beneath the notifier;
 * the final state is always delivered by {@link JobReporter.finish}, which waits for it.
 * The message's `ts` and the progress state are checkpointed through `persist`, so a job resumed on
 * another worker keeps editing the same message.
 *
 * Slack has no idempotency key for chat.postMessage, so a worker killed after a post but before its
 * `ts` was checkpointed would leave the next attempt posting the message again. So each post is
 * preceded by a checkpointed intent (`posting`) and carries message metadata naming the job and the
 * part (root or progress); an attempt that finds an intent without a `ts` first looks the message up
 * (conversations.history for the root, conversations.replies for the progress reply) and adopts it.
 * Only such resumes read history; if the lookup fails the reporter posts, as it did before.
 */
import type { Logger } from 'pino';
import { echoCommand } from '../commands/index.js';
import { describeForUser } from '../errors.js';
import type { JobReporting, ReporterCheckpoint, ReporterFactory } from '../queue/reporting.js';
import { type JobStatus, type ProgressState, renderProgress, statusLine } from './blocks/progress.js';
import { compareTs, type OutgoingFile, type SlackNotifier } from './notifier.js';

/** The two messages a reporter posts: the thread's root (slash commands only) and the progress reply. */
export type ReporterPart = 'root' | 'progress';

/** What a reporter checkpoints with its job. */
export interface ReporterSnapshot extends ReporterCheckpoint {
  rootTs?: string;
  messageTs?: string;
  /**
   * Posts begun whose `ts` is not known yet, with when each was first tried (epoch seconds, just
   * before the post): an attempt resumed with one set looks for the message before posting it.
   */
  posting?: Partial<Record<ReporterPart, number>>;
  state: ProgressState;
}

/** The `event_type` of the metadata on a job's messages; `event_payload` is `{ job, part }`. */
export const JOB_MESSAGE_EVENT = 'capstan_job';

/** How far before a recorded intent a lookup reaches back: room for the worker's clock to be off Slack's. */
const LOOKUP_MARGIN_SEC = 60;

/** How to build a reporter. */
export interface ReporterOptions {
  notifier: SlackNotifier;
  /** The job's id, put in the metadata of the messages it posts so a resumed attempt can find them. */
  jobId: string;
  channel: string;
  /** The request's thread; when absent (a slash command) the reporter posts `rootText` to start one. */
  threadTs?: string;
  rootText: string;
  snapshot: ReporterSnapshot;
  minIntervalMs: number;
  persist: (snapshot: ReporterSnapshot) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

/** Errors Slack answers that retrying will not fix (https://api.slack.com/methods/chat.postMessage#errors). */
const UNDELIVERABLE = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'account_inactive',
]);

/** How long a job waits for its progress message to reach Slack before it goes on regardless. */
const START_WAIT_MS = 3_000;

/** Reports a job's progress into its Slack thread. */
export class JobReporter implements JobReporting {
  private readonly opts: ReporterOptions;
  private readonly now: () => number;
  private snapshot: ReporterSnapshot;
  /** The state changed since Slack last got it. */
  private dirty = false;
  /** Bumped on every change, so a delivery clears `dirty` only if nothing changed while it was sent. */
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private undeliverable = false;

  constructor(opts: ReporterOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.snapshot = structuredClone(opts.snapshot);
  }

  /** The current progress state (a copy). */
  get state(): ProgressState {
    return structuredClone(this.snapshot.state);
  }

  /** The thread this job reports into, once known. */
  get threadTs(): string | undefined {
    return this.opts.threadTs ?? this.snapshot.rootTs;
  }

  /**
   * Marks the job running (idempotent) and delivers the progress message, waiting for Slack at most
   * `START_WAIT_MS`: while Slack is unreachable the job carries on and its message catches up when
   * Slack is back (`flush`, `attach` and `finish` wait for it).
   */
  async start(): Promise<void> {
    const state = this.snapshot.state;
    if (state.status === 'queued') {
      state.status = 'running';
      state.startedAt = this.now();
    }
    await this.changed(true);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, START_WAIT_MS);
    });
    await Promise.race([this.flush(), gaveUp]);
    clearTimeout(timer);
  }

  /** Starts step `name`, completing the step before it. */
  async step(name: string, detail?: string): Promise<void> {
    this.completeRunning('done');
    this.snapshot.state.steps.push({
      name,
      state: 'running',
      startedAt: this.now(),
      ...(detail ? { detail } : {}),
    });
    await this.changed(true);
  }

  /** Sets the detail of the running step (e.g. "2 of 3 instances InService"). */
  progress(detail: string): void {
    const running = this.snapshot.state.steps.findLast((s) => s.state === 'running');
    if (running) running.detail = detail;
    this.schedule();
  }

  /** Adds an informational note. */
  info(text: string): void {
    this.snapshot.state.notes.push({ level: 'info', text });
    this.schedule();
  }

  /** Adds a warning note. */
  warn(text: string): void {
    this.snapshot.state.notes.push({ level: 'warn', text });
    this.schedule();
  }

  /** Uploads a file (e.g. a chart) into the job's thread. */
  async attach(file: Omit<OutgoingFile, 'channel' | 'threadTs'>): Promise<void> {
    // The thread must exist first; waiting for delivery keeps this from racing a post in flight.
    await this.flush();
    await this.ensureMessage();
    const threadTs = this.threadTs;
    await this.opts.notifier.upload({
      ...file,
      channel: this.opts.channel,
      ...(threadTs ? { threadTs } : {}),
    });
  }

  /** The job succeeded: delivers the final state. */
  done(outcome: string): Promise<void> {
    return this.finish('done', outcome);
  }

  /** The job waits for people (an approval): delivers "waiting for …", never "done". */
  waiting(waitingFor: string, outcome: string): Promise<void> {
    this.snapshot.state.waitingFor = waitingFor;
    return this.finish('waiting', outcome);
  }

  /** The job failed: delivers the final state with the error in words a user understands. */
  fail(error: unknown): Promise<void> {
    return this.finish('failed', describeForUser(error));
  }

  /** The job was cancelled. */
  cancelled(outcome: string): Promise<void> {
    return this.finish('cancelled', outcome);
  }

  /** Sets the final state and waits until Slack has it. */
  async finish(
    status: Extract<JobStatus, 'done' | 'waiting' | 'failed' | 'cancelled'>,
    outcome: string,
  ): Promise<void> {
    const state = this.snapshot.state;
    this.completeRunning(status === 'done' || status === 'waiting' ? 'done' : 'failed');
    state.status = status;
    state.outcome = outcome;
    state.startedAt ??= this.now();
    state.endedAt = this.now();
    await this.changed(false);
    await this.flush();
    await this.updateRoot();
  }

  /** Waits until the latest state has been delivered (or found undeliverable). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      if (!this.dirty || this.undeliverable) return;
      const wait = this.lastSentAt + this.opts.minIntervalMs - this.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!this.inflight) this.sendNow();
    }
  }

  private completeRunning(to: 'done' | 'failed'): void {
    const at = this.now();
    for (const step of this.snapshot.state.steps) {
      if (step.state === 'running') {
        step.state = to;
        step.endedAt = at;
      }
    }
  }

  private async changed(persist: boolean): Promise<void> {
    if (persist) await this.opts.persist(structuredClone(this.snapshot));
    this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    this.version += 1;
    if (this.timer || this.inflight || this.undeliverable) return;
    const wait = Math.max(0, this.lastSentAt + this.opts.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendNow();
    }, wait);
  }

  private sendNow(): void {
    if (!this.dirty) return;
    this.inflight = this.deliver()
      .catch((error: unknown) => {
        const code = slackErrorCode(error);
        if (code && UNDELIVERABLE.has(code)) {
          this.undeliverable = true;
          this.opts.logger.warn({ channel: this.opts.channel, code }, 'progress message cannot be delivered');
        } else {
          this.opts.logger.warn({ err: error }, 'progress update failed; will retry');
        }
      })
      .finally(() => {
        this.inflight = undefined;
        this.lastSentAt = this.now();
        if (this.dirty && !this.undeliverable) this.schedule();
      });
  }

  /** The state as a message, and which change it shows. */
  private render() {
    return { ...renderProgress(this.snapshot.state, this.now()), version: this.version };
  }

  /** Slack has the state as of `version`: nothing left to send unless it changed since. */
  private delivered(version: number): void {
    if (this.version === version) this.dirty = false;
  }

  private async deliver(): Promise<void> {
    const { text, blocks, version } = this.render();
    const messageTs = this.snapshot.messageTs;
    if (messageTs) {
      try {
        await this.opts.notifier.update({ channel: this.opts.channel, ts: messageTs, text, blocks });
        this.delivered(version);
        return;
      } catch (error) {
        // The message was deleted by someone: post a new one rather than go silent.
        if (slackErrorCode(error) !== 'message_not_found') throw error;
        this.snapshot.messageTs = undefined;
      }
    }
    await this.ensureMessage();
  }

  /** Posts the thread's root (for slash commands) and the progress message, once each. */
  private async ensureMessage(): Promise<void> {
    const { notifier, channel } = this.opts;
    if (!this.threadTs) {
      const root = await this.postOnce('root', undefined, (metadata) =>
        notifier.post({ channel, text: this.opts.rootText, metadata }),
      );
      this.snapshot.rootTs = root.ts;
      this.posted('root');
      await this.opts.persist(structuredClone(this.snapshot));
    }
    if (!this.snapshot.messageTs) {
      const { text, blocks, version } = this.render();
      const threadTs = this.threadTs;
      const progress = await this.postOnce('progress', threadTs, (metadata) =>
        notifier.post({ channel, text, blocks, metadata, ...(threadTs ? { threadTs } : {}) }),
      );
      this.snapshot.messageTs = progress.ts;
      this.posted('progress');
      if (!progress.found) this.delivered(version);
      await this.opts.persist(structuredClone(this.snapshot));
      if (progress.found) {
        // The message found shows the state the interrupted attempt posted: bring it up to date.
        await notifier.update({ channel, ts: progress.ts, text, blocks });
        this.delivered(version);
      }
    }
  }

  /**
   * Posts `part` at most once per job: when an earlier attempt began posting it (an intent without a
   * `ts`), looks for that message first; otherwise checkpoints the intent, then posts with metadata
   * naming the job and the part.
   */
  private async postOnce(
    part: ReporterPart,
    threadTs: string | undefined,
    post: (metadata: { event_type: string; event_payload: { job: string; part: ReporterPart } }) => Promise<{
      ts: string;
    }>,
  ): Promise<{ ts: string; found: boolean }> {
    const since = this.snapshot.posting?.[part];
    if (since !== undefined) {
      const ts = await this.lookUp(part, since, threadTs);
      if (ts) return { ts, found: true };
    }
    // Slack's clock, not the job's (`now` may be a test's): the lookup compares it with message ts.
    // An earlier intent is kept, so a lookup after a further crash also covers that attempt's post.
    this.snapshot.posting = { ...this.snapshot.posting, [part]: since ?? Math.floor(Date.now() / 1000) };
    await this.opts.persist(structuredClone(this.snapshot));
    const { ts } = await post({
      event_type: JOB_MESSAGE_EVENT,
      event_payload: { job: this.opts.jobId, part },
    });
    return { ts, found: false };
  }

  /** The `ts` of `part` as posted by an earlier attempt of this job since `since`, if Slack has it. */
  private async lookUp(
    part: ReporterPart,
    since: number,
    threadTs: string | undefined,
  ): Promise<string | undefined> {
    const { notifier, channel, jobId, logger } = this.opts;
    if (!notifier.findByMetadata) return undefined;
    try {
      const found = await notifier.findByMetadata({
        channel,
        oldest: since - LOOKUP_MARGIN_SEC,
        eventType: JOB_MESSAGE_EVENT,
        ...(threadTs ? { threadTs } : {}),
      });
      const ts = found
        .filter((m) => m.metadata.event_payload.job === jobId && m.metadata.event_payload.part === part)
        .map((m) => m.ts)
        .sort(compareTs)[0];
      logger.info(
        { part, found: ts !== undefined },
        ts ? 'adopting the message an interrupted attempt posted' : 'an interrupted attempt posted nothing',
      );
      return ts;
    } catch (error) {
      // Missing history scopes, Slack unreachable…: post rather than go silent (a duplicate is possible).
      logger.warn(
        { part, code: slackErrorCode(error) ?? errorCode(error) },
        'could not look for a message an interrupted attempt may have posted; posting it',
      );
      return undefined;
    }
  }

  /** `part` has its `ts`: no intent left to resolve. */
  private posted(part: ReporterPart): void {
    const posting = this.snapshot.posting;
    if (!posting) return;
    delete posting[part];
    if (Object.keys(posting).length === 0) delete this.snapshot.posting;
  }

  /** Appends the outcome to the root message Capstan posted, so the channel shows it at a glance. */
  private async updateRoot(): Promise<void> {
    const rootTs = this.snapshot.rootTs;
    if (!rootTs || this.undeliverable) return;
    const text = `${this.opts.rootText} — ${statusLine(this.snapshot.state, this.now())}`;
    try {
      await this.opts.notifier.update({ channel: this.opts.channel, ts: rootTs, text });
    } catch (error) {
      this.opts.logger.warn({ err: error }, 'could not update the request message');
    }
  }
}

/** The `code` of an error (e.g. the WebClient's `slack_webapi_request_error`), for logs. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The `error` code of a Slack platform error (`ok: false`), if that is what `error` is. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * The worker's reporter factory: each job reports into its request's thread through `notifier`
 * (a slash command's job starts the thread with "<@user> asked: `…`"), updating one message at most
 * every `minIntervalMs`, and resumes from what an earlier attempt checkpointed.
 */
export function slackReporterFactory(notifier: SlackNotifier, minIntervalMs: number): ReporterFactory {
  return (seed) => {
    const { request } = seed;
    const initial: ProgressState = {
      title: request.text,
      jobId: seed.jobId,
      requester: request.userId,
      status: 'queued',
      queuedAt: seed.queuedAt,
      steps: [],
      notes: [],
    };
    return new JobReporter({
      notifier,
      jobId: seed.jobId,
      channel: request.channelId,
      ...(request.threadTs ? { threadTs: request.threadTs } : {}),
      rootText: `<@${request.userId}> asked: ${echoCommand(request.text)}`,
      snapshot: (seed.checkpoint as ReporterSnapshot | undefined) ?? { state: initial },
      minIntervalMs,
      persist: seed.persist,
      logger: seed.logger,
    });
  };
}
