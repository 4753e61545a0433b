import { pathToFileURL } from 'node:url';

/** Where an example runs: hosts (SSH config aliases) and the SSH config to read them from. */
export interface ExampleOptions {
  /** @default `$EXAMPLE_HOSTS` (comma-separated), else `['localhost']`: the manager alone */
  readonly hosts?: readonly string[];
  /** @default `$LAZYCLUSTER_SSH_CONFIG`, else `~/.ssh/config` */
  readonly sshConfigPath?: string;
}

export function hostsOf(options: ExampleOptions): string[] {
  const fromEnv = process.env.EXAMPLE_HOSTS?.split(',').map((h) => h.trim()).filter((h) => h !== '');
  return [...(options.hosts ?? fromEnv ?? ['localhost'])];
}

export function runtimeOptionsOf(options: ExampleOptions): { sshConfigPath?: string } {
  return options.sshConfigPath === undefined ? {} : { sshConfigPath: options.sshConfigPath };
}

/** Run `main` when the module is the program itself (`node dist/x.js`), printing its result. */
export function runIfMain(moduleUrl: string, main: () => Promise<unknown>): void {
  const entry = process.argv[1];
  if (entry === undefined || pathToFileURL(entry).href !== moduleUrl) return;
  main().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
