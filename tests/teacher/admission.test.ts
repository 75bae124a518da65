// Admission: connections per address, and a request rate per key as a token bucket.
import { describe, expect, it } from 'vitest';
import { Admission } from '../../teacher/admission.js';

describe('Admission', () => {
  it('counts connections per address and frees them on disconnect', () => {
    const a = new Admission({ connectionsPerAddress: 2 });
    expect([a.connect('x'), a.connect('x'), a.connect('x'), a.connect('y')]).toEqual([true, true, false, true]);
    a.disconnect('x');
    expect(a.connect('x')).toBe(true);
  });

  it('allows a burst of one second\'s worth, then the rate, per key', () => {
    const a = new Admission({ connectionsPerAddress: 1, requestsPerSecond: 4 });
    expect(Array.from({ length: 5 }, () => a.take('k', 0))).toEqual([true, true, true, true, false]);
    expect(a.take('other', 0)).toBe(true);
    expect(a.take('k', 0.25)).toBe(true);
    expect(a.take('k', 0.25)).toBe(false);
  });

  it('a rate below one a second still lets one request through every 1/rate seconds', () => {
    const a = new Admission({ connectionsPerAddress: 1, requestsPerSecond: 0.5 });
    expect([a.take('k', 0), a.take('k', 1), a.take('k', 2), a.take('k', 2)]).toEqual([true, false, true, false]);
  });

  it('no rate: every request goes', () => {
    const a = new Admission({ connectionsPerAddress: 1 });
    expect(Array.from({ length: 100 }, () => a.take('k')).every(Boolean)).toBe(true);
  });
});
