// The one place minnow talks to onnxruntime-node: sessions on a device, and tensor conversion.
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { Tensor, type DType, type TypedArray } from './tensor.js';

const require_ = createRequire(import.meta.url);

export type Device = 'cpu' | 'cuda' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

/** A user-facing problem with the requested device (no stack trace is shown for it). */
export class DeviceError extends Error {
  override name = 'DeviceError';
}

export function parseDevice(value: string): Device {
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new DeviceError(`unknown device '${value}': use one of ${DEVICES.join(', ')}`);
}

const INSTALL_HINT: Record<Device, string> = {
  cpu: '',
  cuda: 'the CUDA execution provider is not installed: on a Linux x64 host with CUDA 12, run `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install`, or use --device cpu',
  webgpu: 'the WebGPU execution provider could not start (it needs a GPU with Vulkan drivers); use --device cpu',
};

/** Fails with one clear sentence when onnxruntime-node has no backend for the device. */
export function checkDevice(device: Device): void {
  if (device === 'cpu') return;
  const backends = ort.listSupportedBackends?.() ?? [];
  const entry = backends.find((b) => b.name === device);
  if (!entry || (device === 'cuda' && !entry.bundled && !cudaProviderInstalled())) {
    throw new DeviceError(`device '${device}' is not available: ${INSTALL_HINT[device]}`);
  }
}

function cudaProviderInstalled(): boolean {
  // The install script drops libonnxruntime_providers_cuda.so next to the binding when it succeeds.
  try {
    const fs = require_('node:fs') as typeof import('node:fs');
    const path = require_('node:path') as typeof import('node:path');
    const dir = path.dirname(require_.resolve('onnxruntime-node/package.json'));
    const bin = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads (default: onnxruntime's choice, all cores). */
  threads?: number;
  /** onnxruntime's CPU memory arena (default on). */
  arena?: boolean;
  /** onnxruntime's memory pattern: buffers planned from the first run's shapes (default on). */
  memoryPattern?: boolean;
  /** onnxruntime's graph rewrites before the first run (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Run independent nodes side by side on this many threads (default: one node at a time). */
  interOpThreads?: number;
}

export async function createSession(model: Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const device = options.device ?? 'cpu';
  checkDevice(device);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [device],
    graphOptimizationLevel: options.optimization ?? 'all',
  };
  if (options.interOpThreads) Object.assign(sessionOptions, { executionMode: 'parallel', interOpNumThreads: options.interOpThreads });
  if (options.threads) sessionOptions.intraOpNumThreads = options.threads;
  if (options.arena !== undefined) sessionOptions.enableCpuMemArena = options.arena;
  if (options.memoryPattern !== undefined) sessionOptions.enableMemPattern = options.memoryPattern;
  try {
    return await ort.InferenceSession.create(model, sessionOptions);
  } catch (err) {
    const message = (err as Error).message;
    if (device !== 'cpu' && /provider|cuda|webgpu|dawn|vulkan|adapter/i.test(message)) {
      // Keep onnxruntime's own reason, without its source location and assertion text.
      const reason = message.split('\n')[0]!.replace(/^.*(?:was false\.|\] )\s*/, '');
      throw new DeviceError(`device '${device}' is not available: ${INSTALL_HINT[device]} (onnxruntime: ${reason})`);
    }
    throw err;
  }
}

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as never, t.dims);
}

export function fromOrt(t: ort.Tensor): Tensor {
  return new Tensor(t.type as DType, [...t.dims], t.data as TypedArray);
}

export type Feeds = Record<string, Tensor>;

const toOrtFeeds = (feeds: Feeds) => Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));

/** Runs a session on host tensors and returns host tensors. */
export async function run(session: ort.InferenceSession, feeds: Feeds, fetches?: string[]): Promise<Record<string, Tensor>> {
  const ortFeeds = toOrtFeeds(feeds);
  const out = fetches ? await session.run(ortFeeds, fetches) : await session.run(ortFeeds);
  const result: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(out)) result[k] = fromOrt(v);
  return result;
}

/**
 * Runs a session and writes the outputs named in `into` into those tensors' own memory
 * (onnxruntime's preallocated outputs); returns the outputs named in `fetches`. onnxruntime-node
 * also returns a copy of each preallocated output, which is dropped here.
 */
export async function runInto(session: ort.InferenceSession, feeds: Feeds, fetches: string[], into: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const ortFeeds = toOrtFeeds(feeds);
  // null: onnxruntime allocates the output.
  const ortFetches: Record<string, ort.Tensor | null> = {};
  for (const name of fetches) ortFetches[name] = null;
  for (const [k, v] of Object.entries(into)) ortFetches[k] = toOrt(v);
  const out = await session.run(ortFeeds, ortFetches);
  const result: Record<string, Tensor> = {};
  for (const name of fetches) result[name] = fromOrt(out[name]!);
  return result;
}

export { ort };
