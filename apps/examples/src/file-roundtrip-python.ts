// Send a file to a runtime, transform it there with Python, and get the result back.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, RuntimeTask } from '@lazycluster/runtime';
import { hostsOf, runIfMain, runtimeOptionsOf, type ExampleOptions } from './example-options.js';

// Python source defining main(**args); it runs with the runtime's python3, in the
// runtime's working directory, where sendFile put the input.
const UPPERCASE_WORDS = `
def main(source, target):
    with open(source) as f:
        words = f.read().split()
    with open(target, "w") as f:
        f.write("\\n".join(w.upper() for w in words) + "\\n")
    return len(words)
`;

export async function fileRoundtripPython(options: ExampleOptions = {}): Promise<{ host: string; words: number; result: string }> {
  const [host = 'localhost'] = hostsOf(options);
  const local = await mkdtemp(join(tmpdir(), 'lazycluster-example-'));
  try {
    await writeFile(join(local, 'words.txt'), 'the quick brown fox\njumps over the lazy dog\n');
    await using runtime = new Runtime(host, runtimeOptionsOf(options));
    const task = new RuntimeTask('uppercase')
      .sendFile(join(local, 'words.txt'), 'words.txt')
      .runPython(UPPERCASE_WORDS, { source: 'words.txt', target: 'upper.txt' })
      .getFile('upper.txt', join(local, 'upper.txt'));
    await runtime.executeTask(task);
    return { host, words: task.functionReturns[0] as number, result: await readFile(join(local, 'upper.txt'), 'utf8') };
  } finally {
    await rm(local, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, fileRoundtripPython);
