// A teacher on a network: TLS with a private CA, tokens reloaded on SIGHUP without dropping open
// connections, a request rate per token, and a connection limit per address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { TeacherClient } from '../../student/teacher-client.js';
import { RawClient, ids, spawnTeacher, writeTeacherModel } from '../helpers/teacher-fixture.js';

const VOCAB = 50;
const model = writeTeacherModel('lm', { vocab: VOCAB, ctx: 16 });
const dir = mkdtempSync(path.join(tmpdir(), 'minnow-tls-'));
const inputs = (seed: number) => ({ input_ids: { dtype: 'int64' as const, dims: [1, 4], data: ids(1, 4, VOCAB, seed) } });

/** A self-signed certificate for 127.0.0.1 made by openssl, which is also its own CA. */
function certificate(name: string): { cert: string; key: string } {
  const [cert, key] = [path.join(dir, `${name}.crt`), path.join(dir, `${name}.key`)];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:teachers.test'], { stdio: 'ignore' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('TLS', () => {
  const tls = certificate('teacher');
  let server: TeacherServer;
  beforeAll(async () => { server = await serveTeacher({ model, port: 0, logger: false, tls }); });
  afterAll(async () => { await server?.close(); });

  it('serves wss:// to a client that trusts its CA', async () => {
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const client = await TeacherClient.connect({ urls: [server.url], ca: tls.cert });
    expect(await client.infer(inputs(1), { topK: 4 })).toMatchObject({ type: 'soft', dims: [1, 4] });
    await client.close();
  });

  it('a name with two addresses: both replicas used, each certificate checked against the name', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const pair = await Promise.all(['127.0.0.1', '127.0.0.2'].map((host) => serveTeacher({ model, host, port, tokens: ['t'], logger: false, tls })));
    const lookup = async (host: string) => (host === 'teachers.test' ? ['127.0.0.1', '127.0.0.2'] : []);
    const client = await TeacherClient.connect({ urls: [`wss://teachers.test:${port}`], token: 't', ca: tls.cert, lookup });
    for (let i = 0; i < 50 && client.connected.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(client.connected).toHaveLength(2);
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.infer(inputs(i))));
    await client.close();
    // The same addresses under a name the certificate does not carry are refused.
    const wrongName = async (host: string) => (host === 'elsewhere.test' ? ['127.0.0.1', '127.0.0.2'] : []);
    await expect(TeacherClient.connect({ urls: [`wss://elsewhere.test:${port}`], token: 't', ca: tls.cert, lookup: wrongName })).rejects.toMatchObject({ code: 'tls' });
    await Promise.all(pair.map((s) => s.close()));
  });

  it('a client without the CA, or with another, stops with a clear error instead of retrying', async () => {
    const other = certificate('other');
    for (const ca of [undefined, other.cert]) {
      await expect(TeacherClient.connect({ urls: [server.url], ca, reconnectTimeoutMs: 60_000 })).rejects.toMatchObject({
        code: 'tls', message: expect.stringMatching(/the teacher's TLS certificate is not trusted .*; give the CA that signed it with --ca$/),
      });
    }
  });
});

describe('tokens reloaded on SIGHUP', () => {
  it('the old token is refused and the new one accepted, and open connections keep working', async () => {
    const tokens = path.join(dir, 'tokens');
    writeFileSync(tokens, 'old-token\n');
    const { child, url, stderr } = await spawnTeacher([model, '--port', '0', '--token-file', tokens]);
    try {
      const open = await TeacherClient.connect({ urls: [url], token: 'old-token' });
      writeFileSync(tokens, '# rotated\nnew-token\n');
      child.kill('SIGHUP');
      for (let i = 0; i < 100 && !/SIGHUP: tokens reloaded/.test(stderr()); i++) await new Promise((r) => setTimeout(r, 50));
      await expect(TeacherClient.connect({ urls: [url], token: 'old-token' })).rejects.toMatchObject({ code: 'unauthorized' });
      const fresh = await TeacherClient.connect({ urls: [url], token: 'new-token' });
      expect(await fresh.infer(inputs(2))).toMatchObject({ type: 'soft' });
      expect(await open.infer(inputs(3))).toMatchObject({ type: 'soft' });
      await Promise.all([open.close(), fresh.close()]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('limits per token and per address', () => {
  let server: TeacherServer;
  beforeAll(async () => { server = await serveTeacher({ model, port: 0, logger: false, tokens: ['t1', 't2'], rateLimit: 5, maxConnectionsPerAddress: 2 }); });
  afterAll(async () => { await server?.close(); });

  it('a token over its request rate gets rate_limited; another token is not held back by it', async () => {
    const [greedy, other] = await Promise.all([RawClient.open(server.url), RawClient.open(server.url)]);
    await greedy.hello('t1');
    await other.hello('t2');
    for (let i = 0; i < 15; i++) greedy.send({ type: 'infer', id: i, version: 1, inputs: inputs(i) });
    const replies = await Promise.all(Array.from({ length: 15 }, () => greedy.next()));
    const limited = replies.filter((r) => r.type === 'error' && r.code === 'rate_limited').length;
    // A burst of one second's worth (5) goes through; the rest of the 15 sent at once is refused.
    expect(limited).toBeGreaterThanOrEqual(9);
    expect(15 - limited).toBeGreaterThanOrEqual(5);
    other.send({ type: 'infer', id: 1, version: 1, inputs: inputs(1) });
    expect(await other.next()).toMatchObject({ type: 'soft' });
    greedy.close();
    other.close();
  });

  it('a third connection from one address is refused with busy', async () => {
    await new Promise((r) => setTimeout(r, 100)); // the previous test's sockets are counted out
    const clients = await Promise.all([0, 1, 2].map(() => RawClient.open(server.url)));
    const third = await clients[2]!.next();
    expect(third).toMatchObject({ type: 'error', code: 'busy', message: expect.stringMatching(/connection limit per address \(2\)/) });
    expect(await clients[0]!.hello('t1')).toMatchObject({ type: 'info' });
    for (const c of clients) c.close();
  });
});
