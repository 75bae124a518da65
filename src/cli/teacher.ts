// `minnow teacher serve` and `minnow teacher train`.
import { int, num, positive, device, readPem } from './options.js';
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DRAIN_TIMEOUT_MS, TeacherServer } from '../../teacher/server.js';
import { UsageError } from './errors.js';
import { addLabelCommand } from './label.js';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be 0-65535');
  return n;
};

export function addTeacherCommands(program: Command, addTrain: (command: Command) => void): void {
  const teacher = program.command('teacher').description('train and serve the big model of a distillation pair');

  teacher.command('serve')
    .description('serve a model\'s soft labels over WebSocket (protocol v1, docs/protocol.md)')
    .argument('<model>', 'model.onnx or a run directory; any ONNX model with a logits output')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', port, 7070)
    .option('--device <device>', 'cpu, cuda or webgpu', device, 'cpu')
    .option('--token-file <file>', 'bearer tokens, one per line (read again on SIGHUP); without it only loopback is allowed')
    .option('--tls-cert <file>', 'PEM certificate: serve wss:// and https:// (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--max-connections-per-address <n>', 'open connections from one address at most', int('--max-connections-per-address'), 32)
    .option('--rate-limit <n>', 'requests a second per token (per address without tokens), bursts of one second\'s worth', positive('--rate-limit'))
    .option('--max-batch <n>', 'rows per model run', int('--max-batch'), 64)
    .option('--max-wait-ms <n>', 'how long a request may wait for others to batch with', (v) => Math.max(0, Number(v)), 5)
    .option('--max-connections <n>', 'open connections at most', int('--max-connections'), 256)
    .option('--max-payload <bytes>', 'largest request frame', int('--max-payload'), 16 * 1024 * 1024)
    .option('--max-inflight <n>', 'requests in flight per connection before `busy`', int('--max-inflight'), 32)
    .option('--threads <n>', 'onnxruntime intra-op threads', int('--threads'))
    .addOption(new Option('--task <task>', 'task, for models without minnow metadata (default: from the logits\' rank)').choices(['classify', 'lm', 'image']))
    .option('--labels <list>', 'comma-separated labels, for models without minnow metadata')
    .option('--tokenizer <file>', 'tokenizer.json (Hugging Face), for text models without minnow metadata; students adopt it')
    .option('--output <name>', 'the output to serve as logits (default: logits, else the first)')
    .option('--max-length <n>', 'longest sequence, where the model\'s position table cannot be read', int('--max-length'))
    .option('--no-verify', 'serve without checking the weights against the sha256 the file records')
    .option('--drain-timeout <s>', 'on SIGTERM, wait at most this long for accepted requests', num('--drain-timeout'), DRAIN_TIMEOUT_MS / 1000)
    .action(async (model: string, o) => {
      const server = new TeacherServer({
        model, host: o.host, port: o.port, device: o.device, tokenFile: o.tokenFile, maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs,
        maxConnections: o.maxConnections, maxPayload: o.maxPayload, maxInflight: o.maxInflight, threads: o.threads,
        task: o.task, labels: o.labels?.split(','), tokenizer: o.tokenizer ? await readTokenizerFile(o.tokenizer) : undefined,
        logitsOutput: o.output, maxLength: o.maxLength, verify: o.verify, tls: tlsOptions(o.tlsCert, o.tlsKey),
        maxConnectionsPerAddress: o.maxConnectionsPerAddress, rateLimit: o.rateLimit, drainTimeoutMs: o.drainTimeout * 1000,
      });
      await server.listen();
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(`${signal}: answering requests in flight, then stopping\n`);
          void server.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // Only with tokens to reload: otherwise SIGHUP (a closed terminal) stops the server as usual.
        if (o.tokenFile) process.on('SIGHUP', () => { if (server.reloadTokens()) process.stderr.write('SIGHUP: tokens reloaded\n'); });
        stopWhenOrphaned(() => stop('npx exited without passing its signal on'));
      });
      await server.ready();
      // A signal during loading closes the server before it is ready.
      if (server.state === 'ready') process.stderr.write(`teacher ${server.teacherId.slice(0, 12)} serving ${server.url} (GET /healthz, /metrics); Ctrl-C or SIGTERM to stop\n`);
      await stopped;
    });

  addTrain(teacher.command('train').description('train a teacher (the core trainer with teacher-sized presets)'));
  addLabelCommand(teacher.command('label'));
}

/**
 * npx (npm exec) exits on SIGTERM without passing it on, which left the server running with its
 * port: started by npx, the server stops (draining) when its parent is gone.
 */
function stopWhenOrphaned(stop: () => void): void {
  if (process.env.npm_command !== 'exec') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 250);
  timer.unref();
}

function tlsOptions(cert: string | undefined, key: string | undefined): { cert: string; key: string } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new UsageError('give both --tls-cert and --tls-key');
  return { cert: readPem(cert, '--tls-cert'), key: readPem(key, '--tls-key') };
}

async function readTokenizerFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--tokenizer ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
