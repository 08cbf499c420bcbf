"""Resolve the Kafka broker's jars from Maven Central into Maven's own cache (~/.m2).

The classpath is remembered in the user cache folder, so a warm start does not run Maven.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from hub.errors import StackError

MIN_JAVA = 17


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "residents-hub"


def check_java() -> str:
    """Path of a Java 17+ runtime, or a StackError saying how to get one."""
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "Java not found: Kafka needs Java 17 or newer "
            "(install it with: sudo apt-get install openjdk-17-jre-headless)"
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', result.stderr + result.stdout)
    if match is None or int(match.group(1)) < MIN_JAVA:
        found = match.group(1) if match else "unknown"
        raise StackError(
            f"Java {found} found at {java}, but Kafka needs Java {MIN_JAVA} or newer "
            "(install openjdk-17-jre-headless and put it first on PATH)"
        )
    return java


def kafka_classpath(version: str, log_path: Path) -> str:
    """The broker classpath for ``version``, resolving with Maven on first use."""
    cached = cache_dir() / f"kafka-{version}.classpath"
    if cached.exists():
        classpath = cached.read_text().strip()
        if classpath and all(Path(jar).exists() for jar in classpath.split(os.pathsep)):
            return classpath
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven not found: it downloads Kafka's jars from Maven Central "
            "(install it with: sudo apt-get install maven)"
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    pom = cached.parent / f"kafka-{version}.pom.xml"
    template = resources.files("hub.stack").joinpath("kafka-pom.xml").read_text()
    pom.write_text(template.replace("@KAFKA_VERSION@", version))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:build-classpath",
                f"-Dmdep.outputFile={cached}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0 or not cached.exists():
        raise StackError(
            f"Maven could not download Kafka {version} from Maven Central "
            f"(details in {log_path}): check network access or the proxy in ~/.m2/settings.xml"
        )
    return cached.read_text().strip()
