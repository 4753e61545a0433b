import { describe, expect, it } from 'vitest';
import { isLazyclusterError } from './errors.js';
import { NoPortsLeftError, PortInUseError } from './port-errors.js';

describe('PortInUseError', () => {
  it('has code PORT_IN_USE, the port and the hosts, and says what to do', () => {
    const error = new PortInUseError({ port: 8786, hosts: ['localhost', 'node-a'] });
    expect(isLazyclusterError(error)).toBe(true);
    expect(error.code).toBe('PORT_IN_USE');
    expect(error.name).toBe('PortInUseError');
    expect(error.port).toBe(8786);
    expect(error.hosts).toEqual(['localhost', 'node-a']);
    expect(error.leased).toBe(false);
    expect(error.message).toBe('Port 8786 is in use on localhost, node-a: pick another port, or free port 8786 there.');
  });

  it('says when the port is leased inside this process', () => {
    const error = new PortInUseError({ port: 8786, hosts: ['localhost'], leased: true });
    expect(error.leased).toBe(true);
    expect(error.message).toMatch(/leased to another caller in this process/);
  });
});

describe('NoPortsLeftError', () => {
  it('names the candidates, summarises each host and the leases, and asks for another range', () => {
    const error = new NoPortsLeftError({
      candidates: [8000, 8001, 8002, 8003],
      blocked: { localhost: [8001, 8000], 'node-a': [8002], 'node-b': [] },
      leased: [8003],
    });
    expect(error.code).toBe('NO_PORTS_LEFT');
    expect(error.needed).toBe(1);
    expect(error.blocked).toEqual({ localhost: [8001, 8000], 'node-a': [8002], 'node-b': [] });
    expect(error.message).toBe(
      'No port free on every host among the 4 candidates tried (8000-8003). ' +
        'localhost: 2 busy (8000-8001); node-a: 1 busy (8002); node-b: all free; ' +
        'leased in this process: 1 (8003). Pass a different or larger port range.',
    );
  });

  it('says how many ports were needed when more than one', () => {
    const error = new NoPortsLeftError({ candidates: [8000, 8001], blocked: { 'node-a': [8001] }, needed: 2 });
    expect(error.message).toMatch(/^Fewer than 2 ports free on every host among the 2 candidates tried/);
  });

  it('keeps its own copies of the lists', () => {
    const candidates = [8000];
    const error = new NoPortsLeftError({ candidates, blocked: {} });
    candidates.push(8001);
    expect(error.candidates).toEqual([8000]);
  });
});
