"""Worker of the HttpQueueCluster example (Python 3 standard library only).

Pulls work items from the master at http://127.0.0.1:MASTER_PORT (tunnelled to this host),
reports each result with this host's name, and exits with code 0 once the queue is empty.
Serves its own status as JSON on 127.0.0.1:PORT while it runs, and prints
"queue worker ID ready on port PORT" once that status server listens.
"""
import argparse
import json
import os
import socket
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def network_namespace():
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return None


def compute(task, item):
    if task == "square":
        return item * item
    if task == "wordcount":
        return len(str(item).split())
    raise ValueError("unknown task " + repr(task))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--master-port", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--runtime", required=True, help="the runtime's host name, as the manager knows it")
    args = parser.parse_args()

    identity = {
        "worker": args.worker_id,
        "runtime": args.runtime,
        "hostname": socket.gethostname(),
        "netns": network_namespace(),
    }
    status = dict(identity, processed=0)

    class StatusHandler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            data = json.dumps(status).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), StatusHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("queue worker %s ready on port %d" % (args.worker_id, args.port), flush=True)

    master = "http://127.0.0.1:%d" % args.master_port
    while True:
        try:
            with urllib.request.urlopen("%s/next?worker=%s" % (master, args.worker_id), timeout=120) as response:
                if response.status == 204:
                    break
                job = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 503:
                continue  # the queue is not open yet: ask again (the master held the request)
            raise
        report = dict(identity, id=job["id"], result=compute(job["task"], job["item"]))
        request = urllib.request.Request(
            master + "/result",
            data=json.dumps(report).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        status["processed"] += 1
    print("queue worker %s done after %d items" % (args.worker_id, status["processed"]), flush=True)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
