"""Benchmark: the same rows through the PySpark job on a two-worker standalone cluster and
through the in-process runner (the Python binding calling the same evaluator from one
process), in one run. Reports rows per second per core for both and their ratio, and the
cluster size that 1.4·10^10 derivations in a working day (8 h) would need at the measured
per-core rate. Not a CI test: these machines are shared and noisy, so only the ratio means
much.

    python python/bench/spark_bench.py --rows 200000 --server target/release/blindnym-server

Both sides use the same evaluator process (started here with --dev on 127.0.0.1), the same
batch size and the same number of cores: the in-process side runs `cores` Python processes,
the Spark side `cores` executors of one core.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import conftest  # noqa: E402  (the fixtures' helpers: ports, processes)

import blindnym  # noqa: E402
import blindnym.spark  # noqa: E402

WORKING_DAY = 8 * 3600
NATION = 1.4e10


def ids(start: int, stop: int) -> pa.Array:
    return pa.array([f"1{n * 7919:017d}" for n in range(start, stop)])


def in_process_worker(args):
    urls, anchor, start, stop, batch = args
    client = blindnym.Evaluators(urls, conftest.TOKEN, anchor, conftest.REALM, conftest.DOMAIN)
    chunk = ids(start, stop)
    began = time.perf_counter()
    client.pseudonymise(chunk, batch_size=batch)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--server", default=os.environ.get("BLINDNYM_SERVER",
                                                           "target/release/blindnym-server"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port = conftest.free_port()
        server = subprocess.Popen([args.server, "--dev", "--dev-dir", tmp, "--listen",
                                   f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        conftest.wait_for_port(port, server)
        urls = [f"http://127.0.0.1:{port}"]
        anchor = Path(tmp, "anchor.hex").read_text()
        try:
            # In-process: `cores` processes, each a slice of the rows.
            step = -(-args.rows // args.cores)
            slices = [(urls, anchor, s, min(s + step, args.rows), args.batch)
                      for s in range(0, args.rows, step)]
            # Timed inside each worker (after its client is set up), as the Spark side is timed
            # after a warm-up: the slowest worker's time is the run's.
            with multiprocessing.get_context("spawn").Pool(args.cores) as pool:
                durations = pool.map(in_process_worker, slices)
            local = args.rows / max(durations) / args.cores

            # Spark: the same rows on the test fixture's master and two workers.
            with conftest.spark_cluster(Path(tempfile.mkdtemp(dir=tmp)), args.cores) as cluster:
                from pyspark.sql import functions as F

                df = (cluster.spark.range(0, args.rows, 1, args.cores * 4)
                      .withColumn("ident", F.format_string("1%017d", F.col("id") * 7919)))
                out = blindnym.spark.pseudonymise(df, "ident", conftest.DOMAIN, urls,
                                                  key=Path(tmp, "data-holder.key"), anchor=anchor,
                                                  realm=conftest.REALM, batch_size=args.batch)
                out.limit(10).count()  # warm: the Python workers and their clients
                began = time.perf_counter()
                with blindnym.spark.reasons():
                    out.write.format("noop").mode("overwrite").save()
                spark = args.rows / (time.perf_counter() - began) / args.cores
        finally:
            conftest.stop(server)

    ratio = spark / local
    cores_needed = NATION / WORKING_DAY / spark
    print(f"rows: {args.rows}, cores: {args.cores}, batch: {args.batch}")
    print(f"in-process runner: {local:,.0f} rows/s per core")
    print(f"Spark job:         {spark:,.0f} rows/s per core")
    print(f"ratio Spark / in-process: {ratio:.2f} (target >= 0.7)")
    print(f"1.4e10 derivations in {WORKING_DAY // 3600} h at the Spark rate: "
          f"{cores_needed:,.0f} data-holder cores (plus the evaluator's)")


if __name__ == "__main__":
    main()
