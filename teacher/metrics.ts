// Prometheus metrics for GET /metrics, on a registry of the server's own (several servers may
// share a process in tests).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class TeacherMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'minnow_teacher_requests_total', help: 'infer requests answered with soft labels', registers: [this.registry] });
  readonly errors = new Counter({ name: 'minnow_teacher_errors_total', help: 'error messages sent, by code', labelNames: ['code'], registers: [this.registry] });
  readonly batchSize = new Histogram({ name: 'minnow_teacher_batch_rows', help: 'rows per model run', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });
  readonly latency = new Histogram({ name: 'minnow_teacher_latency_seconds', help: 'time from a request entering the queue to its logits', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'minnow_teacher_queue_depth', help: 'requests waiting for the batcher', registers: [this.registry] });
  readonly connections = new Gauge({ name: 'minnow_teacher_connections', help: 'open WebSocket connections', registers: [this.registry] });

  text(): Promise<string> { return this.registry.metrics(); }
}
