"""The Quick start's job: a small computation on the Dask cluster lazycluster started.

`distributed.Client()` with no arguments connects to DASK_SCHEDULER_ADDRESS, which
`lazycluster dask run` sets for the command it runs.
"""
import os

from distributed import Client


def square(x):
    return x * x


def main():
    with Client(timeout="30s") as client:
        workers = client.scheduler_info()["workers"]
        futures = client.map(square, range(1000))
        total = client.submit(sum, futures).result()
        print(f"scheduler {os.environ['DASK_SCHEDULER_ADDRESS']}, {len(workers)} worker(s)")
        print(f"sum of squares of 0..999 = {total}")
        assert total == sum(i * i for i in range(1000)), "wrong result"


if __name__ == "__main__":
    main()
