"""Fixtures: real evaluator processes (`blindnym-server --dev`, and a 2-of-3 threshold set)
and a real Spark standalone cluster — a master and two workers, each its own JVM process on
127.0.0.1 — driven from PySpark."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REALM = "blindnym dev"
DOMAIN = "dev domain"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args} ended with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server_binary() -> Path:
    """The evaluator binary (`BLINDNYM_SERVER`, or built here with cargo)."""
    explicit = os.environ.get("BLINDNYM_SERVER")
    if explicit:
        return Path(explicit)
    subprocess.run(["cargo", "build", "-p", "blindnym-server", "--bin", "blindnym-server"],
                   cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "blindnym-server"


class Evaluator:
    def __init__(self, urls, directory: Path, processes=()):
        self.urls = urls
        self.dir = directory
        self.processes = list(processes)
        self.anchor = (directory / "anchor.hex").read_text().strip()
        self.root_seed = (directory / "root.seed").read_bytes()
        # The data holder's request key, written by the evaluator at its first start.
        self.key = str(directory / "data-holder.key")


@pytest.fixture(scope="session")
def evaluator(server_binary, tmp_path_factory):
    """One development evaluator (flow B for the data holder's key in `dev domain`)."""
    directory = tmp_path_factory.mktemp("evaluator")
    port = free_port()
    process = subprocess.Popen(
        [str(server_binary), "--dev", "--dev-dir", str(directory), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process)
    yield Evaluator([f"http://127.0.0.1:{port}"], directory)
    stop(process)


@pytest.fixture(scope="session")
def threshold_set(server_binary, tmp_path_factory):
    """A 2-of-3 threshold set of evaluator processes over the development keys."""
    directory = tmp_path_factory.mktemp("threshold")
    for _ in range(200):
        # Below Linux's ephemeral range (32768 and up).
        base = 10000 + random.randrange(20000)
        if all(_free(base + i) and _free(base + 100 + i) for i in range(3)):
            break
    subprocess.run([str(server_binary), "--dev-threshold", "2/3", "--dev-dir", str(directory),
                    "--listen", f"127.0.0.1:{base}"], check=True, capture_output=True)
    processes = []
    for i in range(3):
        process = subprocess.Popen(
            [str(server_binary), "--config", str(directory / f"evaluator-{i + 1}" / "config.toml")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(base + i, process)
        processes.append(process)
    yield Evaluator([f"http://127.0.0.1:{base + i}" for i in range(3)], directory, processes)
    for process in processes:
        stop(process)


class Cluster:
    def __init__(self, spark, master, workers, log_dir):
        self.spark = spark
        self.master = master
        self.workers = workers
        self.log_dir = log_dir

    def executor_pids(self):
        """The executor processes of this session's application only."""
        app = self.spark.sparkContext.applicationId
        out = subprocess.run(["pgrep", "-f", f"CoarseGrainedExecutorBackend.*{app}"],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


@contextlib.contextmanager
def spark_cluster(base: Path, workers: int = 2):
    """A Spark standalone master and `workers` workers (one core, 1 GiB each), each its own
    process, and a session connected to them. `local[*]` would be one JVM."""
    import pyspark
    from pyspark.sql import SparkSession

    spark_home = Path(pyspark.__file__).parent
    spark_class = spark_home / "bin" / "spark-class"
    if not os.access(spark_class, os.X_OK):
        os.chmod(spark_class, 0o755)
    env = dict(os.environ, SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1",
               PYSPARK_PYTHON=sys.executable, SPARK_LOG_DIR=str(base / "logs"),
               SPARK_NO_DAEMONIZE="1")
    master_port, master_ui = free_port(), free_port()
    logs = open(base / "cluster.log", "ab")
    processes = []
    spark = None
    try:
        master = subprocess.Popen(
            [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(master_port), "--webui-port", str(master_ui)],
            env=env, stdout=logs, stderr=logs)
        processes.append(master)
        wait_for_port(master_port, master, 120)
        url = f"spark://127.0.0.1:{master_port}"
        for i in range(workers):
            work = base / f"worker-{i}"
            work.mkdir()
            processes.append(subprocess.Popen(
                [str(spark_class), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                 "--work-dir", str(work), url],
                env=env, stdout=logs, stderr=logs))
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = (
            SparkSession.builder.master(url)
            .appName("blindnym-tests")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executor.cores", "1")
            .config("spark.executor.memory", "768m")
            .config("spark.cores.max", str(workers))
            .config("spark.pyspark.python", sys.executable)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4096")
            .getOrCreate()
        )
        # Both executors registered (the driver counts as one more).
        deadline = time.time() + 180
        while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < workers + 1:
            if time.time() > deadline:
                raise RuntimeError("the workers' executors did not register")
            time.sleep(0.5)
        yield Cluster(spark, processes[0], processes[1:], base)
    finally:
        if spark is not None:
            spark.stop()
        for process in reversed(processes):
            stop(process)
        logs.close()
        shutil.rmtree(base / "logs", ignore_errors=True)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """The two-worker cluster of `spark_cluster`, for the session."""
    with spark_cluster(tmp_path_factory.mktemp("spark")) as running:
        yield running
