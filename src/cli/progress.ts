// Progress for long jobs: a cli-progress bar on a terminal, a line every 10% otherwise (CI logs).
import cliProgress from 'cli-progress';
import type { TrainEvent } from '../train/job.js';

export function trainProgress(stream: NodeJS.WriteStream = process.stderr): (e: TrainEvent) => void {
  let bar: cliProgress.SingleBar | undefined;
  let lastDecile = -1;
  const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const say = (line: string) => {
    if (bar) bar.stop();
    stream.write(line + '\n');
    bar = undefined;
  };
  return (e) => {
    switch (e.type) {
      case 'log': say(e.message); break;
      case 'start':
        say(`training ${e.params.toLocaleString('en-US')} parameters on ${e.trainExamples.toLocaleString('en-US')} examples${e.unlabelledExamples ? ` (${e.unlabelledExamples.toLocaleString('en-US')} of them unlabelled)` : ''}, ${e.totalSteps} steps`);
        lastDecile = Math.floor((10 * e.step) / Math.max(1, e.totalSteps));
        break;
      case 'step': {
        const payload = { loss: fmt(e.loss), sps: e.samplesPerSec.toFixed(0), epoch: e.epoch + 1 };
        if (stream.isTTY) {
          if (!bar) {
            bar = new cliProgress.SingleBar({
              stream, format: ' {bar} {percentage}% | step {value}/{total} | epoch {epoch} | loss {loss} | {sps} samples/s | ETA {eta_formatted}',
              hideCursor: true, etaBuffer: 50,
            }, cliProgress.Presets.shades_classic);
            bar.start(e.totalSteps, e.step, payload);
          }
          bar.update(e.step, payload);
        } else {
          const decile = Math.floor((10 * e.step) / e.totalSteps);
          if (decile !== lastDecile) {
            lastDecile = decile;
            stream.write(`step ${e.step}/${e.totalSteps} epoch ${payload.epoch} loss ${payload.loss} ${payload.sps} samples/s\n`);
          }
        }
        break;
      }
      case 'eval': {
        const m = e.metrics;
        const parts = m.accuracy !== undefined ? `accuracy ${fmt(m.accuracy)} loss ${fmt(m.loss)}` : `loss ${fmt(m.loss)} nats/token, ${fmt(m.bits_per_char ?? NaN)} bits/char`;
        say(`${e.split} after step ${e.step}: ${parts}`);
        break;
      }
      case 'checkpoint': break;
    }
  };
}
