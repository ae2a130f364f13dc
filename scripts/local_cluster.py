"""Start or stop a real multi-node Ray on this machine: a head and worker nodes with fake GPUs.

    python scripts/local_cluster.py start            # head + 2 workers with 1 fake GPU each
    python scripts/local_cluster.py status
    python scripts/local_cluster.py stop

Each node is a separate ``ray start``; ``stop`` ends only this cluster's processes (unlike
``ray stop``, which ends every Ray on the machine). Token authentication stays on with the token
in ~/.ray/auth_token (created if missing), so drivers need ``RAY_AUTH_MODE=token``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness.localcluster import DEFAULT_TOKEN_PATH, LocalCluster, start_local_cluster  # noqa: E402

DEFAULT_DIR = Path("/tmp/lens-search-ray")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--workers", type=int, default=2, help="worker nodes (default 2)")
    parser.add_argument("--gpus-per-worker", type=int, default=1, help="fake GPUs per worker")
    parser.add_argument("--cpus-per-worker", type=int, default=1)
    parser.add_argument("--head-cpus", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"default {DEFAULT_DIR}")
    args = parser.parse_args(argv)
    state = args.dir / "cluster.json"

    if args.command == "start":
        if state.exists():
            print(f"already running ({state}); run 'stop' first", file=sys.stderr)
            return 1
        cluster = start_local_cluster(
            args.workers,
            args.gpus_per_worker,
            args.cpus_per_worker,
            args.head_cpus,
            temp_dir=args.dir,
            token_path=DEFAULT_TOKEN_PATH,
        )
        cluster.save(state)
        print(f"Ray cluster up: head + {args.workers} workers x {args.gpus_per_worker} fake GPU")
        print(f"address: {cluster.address}")
        print(f"  export RAY_AUTH_MODE=token RAY_ADDRESS={cluster.address}")
        print(f"  python -m search.classify --address {cluster.address} --gpus-per-trial 1 ...")
        print(f"stop:    python {sys.argv[0]} stop")
        return 0
    if not state.exists():
        print(f"no cluster started from {args.dir}", file=sys.stderr)
        return 1
    cluster = LocalCluster.load(state)
    if args.command == "status":
        alive = len(cluster.processes())
        print(f"address: {cluster.address}  nodes: {len(cluster.nodes)}  processes: {alive}")
        return 0 if alive else 1
    cluster.stop()
    state.unlink()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
