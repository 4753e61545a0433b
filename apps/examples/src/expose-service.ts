// Start a service on one runtime and make it reachable, at the same port, on every other
// runtime of the group and on the manager — over SSH tunnels, bound to loopback only.
import { portRange } from '@lazycluster/ports';
import { RuntimeGroup } from '@lazycluster/runtime';
import { hostsOf, runIfMain, runtimeOptionsOf, type ExampleOptions } from './example-options.js';

const ECHO_SERVER = `
import http.server, socket, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("served by " + sys.argv[2]).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
`;

export async function exposeService(options: ExampleOptions = {}): Promise<{ port: number; answers: Record<string, string> }> {
  const hosts = hostsOf(options);
  await using group = new RuntimeGroup({ hosts, ...runtimeOptionsOf(options) });
  const [serviceHost = 'localhost'] = hosts;

  // One port free on every host and on the manager, found in one round trip per host.
  const port = await group.getFreePort(portRange(28000, 28999), { includeManager: true });
  const server = await group.getRuntime(serviceHost).spawn(['python3', '-c', ECHO_SERVER, String(port), serviceHost]);
  await waitForHttp(group, serviceHost, port);
  await group.exposePortFromRuntimeToGroup(serviceHost, port);

  // Every other host reaches the service on its own 127.0.0.1:port; so does the manager.
  const answers: Record<string, string> = {};
  for (const host of hosts) {
    const fetchOnHost = `import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:${port}").read().decode())`;
    answers[host] = (await group.getRuntime(host).run(['python3', '-c', fetchOnHost])).stdout.trim();
  }
  answers.manager = await (await fetch(`http://127.0.0.1:${port}`)).text();
  await server.stop();
  return { port, answers };
}

async function waitForHttp(group: RuntimeGroup, host: string, port: number): Promise<void> {
  // The server is ready when it accepts a connection; ask on its host, with a short backoff.
  const probe = `import socket; socket.create_connection(("127.0.0.1", ${port}), 1).close()`;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    if ((await group.getRuntime(host).exec(['python3', '-c', probe])).exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

runIfMain(import.meta.url, exposeService);
