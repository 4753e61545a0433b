"""Job-queue master of the HttpQueueCluster example (Python 3 standard library only).

Reads {"task": ..., "items": [...]} as JSON on stdin, then serves on 127.0.0.1:PORT:
  GET  /next?worker=ID   the next work item as {"id", "task", "item"}; 204 when the queue is
                         empty. Until the queue is opened the request waits (long poll), and
                         after --poll-seconds it answers 503 so the worker asks again.
  POST /open             opens the queue (the cluster does this once every worker is up).
  POST /result           {"id", "result", "worker", "runtime", "hostname", "netns"}
  GET  /results?wait=S   every result so far; waits up to S seconds for all of them.
Prints "queue master listening on 127.0.0.1:PORT" once it accepts connections.
"""
import argparse
import json
import sys
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Queue:
    def __init__(self, task, items):
        self.task = task
        self.items = list(items)
        self.pending = deque(range(len(self.items)))
        self.results = {}
        self.opened = False
        self.changed = threading.Condition()

    def open(self):
        with self.changed:
            self.opened = True
            self.changed.notify_all()

    def next(self, wait_seconds):
        """('item', id) | ('empty', None) | ('closed', None) when not opened in time."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.opened, wait_seconds):
                return ("closed", None)
            if not self.pending:
                return ("empty", None)
            return ("item", self.pending.popleft())

    def add_result(self, report):
        with self.changed:
            self.results[report["id"]] = report
            self.changed.notify_all()

    def snapshot(self, wait_seconds):
        with self.changed:
            self.changed.wait_for(lambda: len(self.results) == len(self.items), wait_seconds)
            results = [dict(self.results[i], item=self.items[i]) for i in sorted(self.results)]
            return {"task": self.task, "total": len(self.items), "done": len(results) == len(self.items), "results": results}


def make_handler(queue, poll_seconds):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path == "/next":
                kind, index = queue.next(poll_seconds)
                if kind == "item":
                    self.reply(200, {"id": index, "task": queue.task, "item": queue.items[index]})
                else:
                    self.reply(204 if kind == "empty" else 503)
            elif url.path == "/results":
                self.reply(200, queue.snapshot(float(query.get("wait", ["0"])[0])))
            else:
                self.reply(404, {"error": "unknown path " + url.path})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if self.path == "/open":
                queue.open()
                self.reply(200, {"opened": True})
            elif self.path == "/result":
                queue.add_result(body)
                self.reply(200, {"ok": True})
            else:
                self.reply(404, {"error": "unknown path " + self.path})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--poll-seconds", type=float, default=20.0)
    args = parser.parse_args()
    job = json.load(sys.stdin)
    queue = Queue(job["task"], job["items"])
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(queue, args.poll_seconds))
    server.daemon_threads = True
    print("queue master listening on 127.0.0.1:%d" % args.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
