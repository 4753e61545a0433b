// Run a shell command and a JavaScript function on a runtime, and get their results back.
import { Runtime, RuntimeTask } from '@lazycluster/runtime';
import { hostsOf, runIfMain, runtimeOptionsOf, type ExampleOptions } from './example-options.js';

export async function runCommandAndFunction(options: ExampleOptions = {}): Promise<{ host: string; kernel: string; primes: number[] }> {
  const [host = 'localhost'] = hostsOf(options);
  await using runtime = new Runtime(host, runtimeOptionsOf(options));

  // A command: its output comes back as a result; a non-zero exit is a result too.
  const { stdout } = await runtime.exec('uname -sr');

  // A function: it runs with the runtime's `node`, sees only its JSON arguments, and its
  // return value travels back as JSON into task.functionReturns.
  const task = new RuntimeTask('primes').runFunction((limit: number) => {
    const primes: number[] = [];
    for (let n = 2; primes.length < limit; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
    return primes;
  }, 10);
  await runtime.executeTask(task);

  return { host, kernel: stdout.trim(), primes: task.functionReturns[0] as number[] };
}

runIfMain(import.meta.url, runCommandAndFunction);
