"""Reads everything HOST:PORT sends until it closes and prints the rate in MB/s (10^6 bytes).

The client of the tunnel benchmark: a process of its own, as a real client would be, so it
never shares an event loop with the forwarder it measures. Exits 1 if the byte count is wrong.
"""
import socket
import sys
import time

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
view = memoryview(bytearray(1 << 20))
start = time.perf_counter()
received = 0
with socket.create_connection((host, port)) as conn:
    while True:
        n = conn.recv_into(view)
        if n == 0:
            break
        received += n
elapsed = time.perf_counter() - start
if received != size:
    sys.exit(f"{host}:{port} sent {received} bytes, {size} expected")
print(size / 1e6 / elapsed)
