import { describe, expect, it } from 'vitest';
import { PortLeases } from './leases.js';

describe('PortLeases', () => {
  it('hands a port out once until it is released', () => {
    const leases = new PortLeases();
    const lease = leases.tryAcquire(8000, 'scheduler');
    expect(lease?.port).toBe(8000);
    expect(lease?.owner).toBe('scheduler');
    expect(leases.isLeased(8000)).toBe(true);
    expect(leases.ownerOf(8000)).toBe('scheduler');
    expect(leases.tryAcquire(8000)).toBeUndefined();
    lease?.release();
    expect(lease?.released).toBe(true);
    expect(leases.isLeased(8000)).toBe(false);
    expect(leases.tryAcquire(8000)).toBeDefined();
  });

  it('counts the leased ports', () => {
    const leases = new PortLeases();
    leases.tryAcquire(8000);
    leases.tryAcquire(8001);
    leases.tryAcquire(8001);
    expect(leases.size).toBe(2);
  });

  it('ignores a second release, and a stale lease never frees a newer lease on the same port', () => {
    const leases = new PortLeases();
    const first = leases.tryAcquire(8000)!;
    first.release();
    const second = leases.tryAcquire(8000)!;
    first.release();
    first[Symbol.dispose]();
    expect(leases.isLeased(8000)).toBe(true);
    expect(second.released).toBe(false);
  });

  it('releases when a `using` block ends', () => {
    const leases = new PortLeases();
    {
      using lease = leases.tryAcquire(8000)!;
      expect(leases.isLeased(lease.port)).toBe(true);
    }
    expect(leases.isLeased(8000)).toBe(false);
  });

  it('releases by port number and says whether a lease was held', () => {
    const leases = new PortLeases();
    const lease = leases.tryAcquire(8000)!;
    expect(leases.release(8000)).toBe(true);
    expect(lease.released).toBe(true);
    expect(leases.release(8000)).toBe(false);
  });

  it('rejects an invalid port', () => {
    expect(() => new PortLeases().tryAcquire(0)).toThrow(RangeError);
  });
});
