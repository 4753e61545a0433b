"""Starts Dask's own SSHCluster on the lab and reports how long it took to be ready.

argv[1] is JSON: {"hosts": [scheduler host, worker hosts...], "knownHosts": path,
"key": path, "nanny": bool}. Prints one JSON line {"fromCall": seconds} once every worker
is registered with the scheduler, then closes the cluster (which, as root without a PTY,
leaves its remote processes running: the caller counts and kills them).
"""
import json
import sys
import time
import warnings

warnings.simplefilter("ignore")
config = json.loads(sys.argv[1])

from distributed import Client  # noqa: E402
from distributed.deploy.ssh import SSHCluster  # noqa: E402

call = time.monotonic()
cluster = SSHCluster(
    config["hosts"],
    connect_options={
        "known_hosts": config["knownHosts"],
        "client_keys": [config["key"]],
        "username": "root",
        "config": None,
    },
    worker_options={"nthreads": 1},
    # The hosts have no default route: without a host, the scheduler advertises 127.0.0.1.
    scheduler_options={"host": config["hosts"][0], "port": 0, "dashboard": False},
    worker_class="distributed.Nanny" if config["nanny"] else "distributed.Worker",
    remote_python="/usr/bin/python3",
)
client = Client(cluster)
client.wait_for_workers(len(config["hosts"]) - 1)
print(json.dumps({"fromCall": time.monotonic() - call}), flush=True)
client.close()
cluster.close(timeout=10)
