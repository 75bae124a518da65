// The Dockerfile and deploy/k8s/ say what the server does: the probe's path and port, the metric the
// autoscaler reads, the flags it is started with, and a grace period longer than the drain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { DRAIN_TIMEOUT_MS, serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { writeTeacherModel } from '../helpers/teacher-fixture.js';

const root = path.resolve(__dirname, '../..');
const dir = path.join(root, 'deploy/k8s');
// Manifests are free-form YAML: read them loosely, and let the assertions say what must hold.
type Doc = Record<string, any>;
const docs: Doc[] = readdirSync(dir).filter((f) => f.endsWith('.yaml')).flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Doc));
const kind = (k: string) => docs.find((d) => d.kind === k)!;
const deployment = kind('Deployment');
const pod = deployment.spec.template;
const container = pod.spec.containers[0];
const args: string[] = container.args;
const flag = (name: string) => args[args.indexOf(name) + 1];
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

let server: TeacherServer;
beforeAll(async () => { server = await serveTeacher({ model: writeTeacherModel('lm'), port: 0, logger: false }); });
afterAll(async () => { await server?.close(); });

describe('deploy/k8s', () => {
  it('the readiness probe asks the server\'s health path on its port, and it answers 200 when ready', async () => {
    const probe = container.readinessProbe.httpGet;
    const port = container.ports.find((p: Doc) => p.name === probe.port);
    expect(port.containerPort).toBe(Number(flag('--port')));
    const res = await fetch(`http://127.0.0.1:${server.port}${probe.path}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('the autoscaler and the adapter read a metric the server exposes', async () => {
    const metric = kind('HorizontalPodAutoscaler').spec.metrics[0].pods.metric.name;
    const exposed = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(exposed).toMatch(new RegExp(`^# TYPE ${metric} gauge$`, 'm'));
    expect(kind('ConfigMap').data['rules.yaml']).toContain(metric);
    expect(pod.metadata.annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(pod.metadata.annotations['prometheus.io/port'])).toBe(Number(flag('--port')));
  });

  it('the grace period is longer than the preStop pause and the drain together', () => {
    const pause = Number(container.lifecycle.preStop.exec.command[1]);
    const drain = args.includes('--drain-timeout') ? Number(flag('--drain-timeout')) : DRAIN_TIMEOUT_MS / 1000;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain);
  });

  it('starts the server with flags it has, on all addresses with tokens from the mounted secret', () => {
    const serve = buildProgram().commands.find((c) => c.name() === 'teacher')!.commands.find((c: Command) => c.name() === 'serve')!;
    const known = new Set(serve.options.map((o) => o.long));
    expect(args.filter((a) => a.startsWith('--') && !known.has(a))).toEqual([]);
    expect(flag('--host')).toBe('0.0.0.0');
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Doc) => [m.name, m.mountPath]));
    expect(flag('--token-file')!.startsWith(mounts.tokens + '/')).toBe(true);
    expect(args[0]!.startsWith(mounts.model + '/')).toBe(true);
  });

  it('the headless Service selects the pods and targets their port', () => {
    const service = kind('Service');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual(pod.metadata.labels);
    expect(container.ports.map((p: Doc) => p.name)).toContain(service.spec.ports[0].targetPort);
  });
});

describe('Dockerfile', () => {
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  it('runs the server as PID 1 through node, not npx, and not as root', () => {
    expect(final).toMatch(/^\nFROM node:20-slim\n/);
    expect(final).toMatch(/^ENTRYPOINT \["node", "dist\/cli\.js", "teacher", "serve"\]$/m);
    expect(dockerfile).not.toMatch(/\bnpx\b.*serve/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/^STOPSIGNAL SIGTERM$/m);
  });

  it('exposes the port the manifests use', () => {
    expect(Number(/^EXPOSE (\d+)$/m.exec(final)![1])).toBe(Number(flag('--port')));
  });
});
