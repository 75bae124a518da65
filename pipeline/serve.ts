// Stage 2: the teacher server, the real one on a free loopback port, started when a later stage first
// needs soft labels and stopped when the pipeline ends, whether it succeeds, fails or is interrupted.
// It runs in the pipeline's own process, so no teacher process can outlive the pipeline.
import path from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import pino from 'pino';
import { TeacherServer } from '../teacher/server.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import type { Context } from './context.js';
import type { TeacherResult } from './stages/teacher.js';

export interface ServeResult {
  url: string;
  teacherId?: string;
  /** Whether this run started the server (false: the given --teacher URL, or not needed). */
  started: boolean;
  requests?: number;
  errors?: number;
  /** How long this run's server was up. */
  seconds: number;
}

export class TeacherService {
  private server?: TeacherServer;
  private starting?: Promise<string>;
  private record?: ServeResult;
  private startedAt = 0;
  private log?: ReturnType<typeof pino.destination>;

  constructor(private readonly ctx: Context, private readonly teacher: TeacherResult) {}

  /** The teacher's URL, starting the server on first use. */
  url(): Promise<string> {
    if (this.teacher.url) return Promise.resolve(this.teacher.url);
    this.starting ??= this.start();
    return this.starting;
  }

  private async start(): Promise<string> {
    this.startedAt = Date.now();
    this.ctx.emit({ type: 'stage', stage: 'serve', status: 'started' });
    const dir = this.ctx.dir('serve');
    mkdirSync(dir, { recursive: true });
    // This run's server only: an earlier run's log is replaced.
    this.log = pino.destination({ dest: path.join(dir, 'server.log'), sync: true, append: false });
    this.server = new TeacherServer({ model: this.teacher.model!, port: 0, logger: pino({ name: 'minnow-teacher' }, this.log), device: this.ctx.options.device, threads: this.ctx.options.threads });
    await this.server.listen();
    await this.server.ready();
    const url = this.server.url;
    this.record = { url, teacherId: this.server.teacherId, started: true, seconds: 0 };
    this.ctx.emit({ type: 'stage', stage: 'serve', status: 'done', line: `teacher ${this.server.teacherId.slice(0, 12)} on ${url} (log: ${path.join(dir, 'server.log')})`, seconds: (Date.now() - this.startedAt) / 1000 });
    return url;
  }

  /** Stops the server (if this run started one) and records what it served. */
  async stop(): Promise<ServeResult> {
    const server = this.server;
    if (!this.record) rmSync(this.ctx.dir('serve', 'serve.json'), { force: true }); // no earlier run's record stays
    if (server && this.record) {
      const value = async (metric: { get(): Promise<{ values: { value: number }[] }> }) => (await metric.get()).values.reduce((a, v) => a + v.value, 0);
      this.record.requests = await value(server.metrics.requests);
      this.record.errors = await value(server.metrics.errors);
      await server.close();
      this.record.seconds = (Date.now() - this.startedAt) / 1000;
      await writeFileAtomic(this.ctx.dir('serve', 'serve.json'), JSON.stringify(this.record, null, 2) + '\n');
    }
    this.log?.end();
    return this.record ?? { url: this.teacher.url ?? '', teacherId: this.teacher.teacherId, started: false, seconds: 0 };
  }
}
