"""Sends N bytes to every connection, then closes it: the service of the tunnel benchmark.

Prints the port it listens on (all interfaces, chosen by the OS) on its first line.
"""
import socket
import sys

size = int(sys.argv[1])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 0))
server.listen(16)
print(server.getsockname()[1], flush=True)
chunk = memoryview(bytes(1 << 20))
while True:
    conn, _ = server.accept()
    with conn:
        left = size
        while left > 0:
            n = min(left, len(chunk))
            conn.sendall(chunk[:n])
            left -= n
