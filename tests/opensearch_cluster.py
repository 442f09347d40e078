"""A real OpenSearch cluster on loopback, for the tests: nodes of the server from Maven Central,
one Java process each (tests/opensearch: a pom and a launcher Maven compiles once; the jars
stay in ~/.m2, the build in tests/opensearch/target).

Where `java` or `mvn` is missing, or Maven Central cannot be reached and nothing is cached,
the tests that need the cluster skip and say so.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

PROJECT = Path(__file__).parent / "opensearch"
BUILT = PROJECT / "target"
CLASSPATH = BUILT / "classpath.txt"
LAUNCHER = BUILT / "classes" / "catalogue" / "TestNode.class"
SOURCES = (PROJECT / "pom.xml", PROJECT / "src" / "main" / "java" / "catalogue" / "TestNode.java",
           PROJECT / "src" / "main" / "resources" / "log4j2.properties")
HEAP = "512m"  # per node, for the tests' small indexes
MAVEN_TIMEOUT = 900  # seconds: the first build downloads the server's jars (about 80 MB)
START_TIMEOUT = 180  # seconds for a node to join (about 15 s on an idle machine)


def classpath() -> str:
    """The launcher's classpath, built by Maven unless an earlier build is still current:
    offline first (from ~/.m2), then from Maven Central. Skips the test where it cannot be built."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            pytest.skip(f"no `{tool}` on PATH: the OpenSearch cluster is built with Maven and runs on Java 17+")
    if not _current():
        why = _build(["-o"]) and _build([])  # from Maven Central only what ~/.m2 lacks
        if why:
            pytest.skip(f"the OpenSearch node could not be built with Maven, from ~/.m2 nor from Maven Central: {why}")
    return f"{BUILT / 'classes'}{os.pathsep}{CLASSPATH.read_text().strip()}"


def _build(options: list[str]) -> str | None:
    """Why Maven could not build the launcher with these options (None: it did)."""
    try:
        build = subprocess.run(["mvn", "-B", "-q", *options, "-f", str(PROJECT / "pom.xml"), "compile",
                                "dependency:build-classpath", f"-Dmdep.outputFile={CLASSPATH}"],
                               capture_output=True, text=True, timeout=MAVEN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"no answer in {MAVEN_TIMEOUT} s"
    if build.returncode == 0:
        return None
    lines = re.sub(r"\x1b\[[0-9;]*m", "", build.stdout + build.stderr).splitlines()  # no terminal colours
    return next((line for line in lines if "[ERROR]" in line), lines[-1] if lines else f"exit {build.returncode}")


def _current() -> bool:
    if not (LAUNCHER.exists() and CLASSPATH.exists()):
        return False
    built = min(LAUNCHER.stat().st_mtime, CLASSPATH.stat().st_mtime)
    jars = CLASSPATH.read_text().strip().split(os.pathsep)
    return all(s.stat().st_mtime <= built for s in SOURCES) and all(Path(j).exists() for j in jars)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    """Nodes n1, n2, … of one cluster, each a Java process with its data and log in `folder`.
    Every node may be elected cluster manager; the first election needs them all."""

    def __init__(self, folder: Path, nodes: int = 2, heap: str = HEAP):
        self.classpath = classpath()
        self.folder = folder
        self.heap = heap
        self.names = [f"n{i}" for i in range(1, nodes + 1)]
        ports = _free_ports(2 * nodes)
        self.http = dict(zip(self.names, ports[:nodes]))
        self.transport = dict(zip(self.names, ports[nodes:]))
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated (CATALOGUE_ES_URL): a client tries the next when one is down."""
        return ",".join(self.node_url(name) for name in self.names)

    def node_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http[name]}"

    def start(self, name: str) -> None:
        home = self.folder / name
        home.mkdir(parents=True, exist_ok=True)
        settings = {
            "cluster.name": f"catalogue-test-{self.folder.name}", "node.name": name,
            "path.home": home, "path.data": home / "data", "path.logs": home / "logs",
            "network.host": "127.0.0.1", "http.port": self.http[name], "transport.port": self.transport[name],
            "discovery.seed_hosts": ",".join(f"127.0.0.1:{port}" for port in self.transport.values()),
            "cluster.initial_cluster_manager_nodes": ",".join(self.names),
            # a shared machine's disk may be fuller than the default watermarks allow
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }
        with open(home / "node.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                ["java", f"-Xms{self.heap}", f"-Xmx{self.heap}", "-cp", self.classpath, "catalogue.TestNode",
                 *(f"{key}={value}" for key, value in settings.items())],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)  # it ends when this closes

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)
        self.wait_until_whole()

    def wait_until_whole(self) -> None:
        """Until every node has joined and every shard copy is assigned (green)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"OpenSearch node {name} stopped (exit {process.returncode}): "
                                       + self.log_tail(name))
            try:
                health = httpx.get(f"{self.node_url(self.names[0])}/_cluster/health",
                                   params={"wait_for_status": "green", "wait_for_nodes": str(len(self.names)),
                                           "timeout": "5s"}, timeout=10).json()
                if not health.get("timed_out", True):
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"the OpenSearch cluster did not form in {START_TIMEOUT} s: "
                                   + " | ".join(self.log_tail(name) for name in self.names))
            time.sleep(1)

    def manager(self) -> str:
        """The name of the node elected cluster manager."""
        return httpx.get(f"{self.node_url(self.names[0])}/_cat/cluster_manager", params={"h": "node"},
                         timeout=10).text.strip()

    def kill(self, name: str) -> None:
        """Stop the node at once, as a crash would (SIGKILL: no goodbye to the others)."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()
        process.stdin.close()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stdin.close()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def log_tail(self, name: str, lines: int = 5) -> str:
        log = self.folder / name / "node.log"
        return " ".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"
