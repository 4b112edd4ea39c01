"""Build Prefect's legacy UI from its source and check it against ``flowview serve --ui``.

    python scripts/legacy_ui.py build SOURCE   # a git directory or a source tree of PrefectHQ/legacy-ui
    python scripts/legacy_ui.py check [DIST] [--screenshot PNG]   # headless chromium, serve --ui

``build`` copies the source (by commit: ``git archive``) into the user's cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``, then ``flowview/legacy-ui/<commit>/``) and builds it there,
once per commit: ``npm ci`` with the lock's pins turned into npm ``overrides`` (the lock holds
``node-fetch@2.6.7``/``ejs@3.1.7`` from ``resolutions`` that npm itself does not read) and
``--ignore-scripts`` (no ``npm-force-resolutions`` preinstall, no node-sass compilation: dart
``sass`` is used); GraphiQL's stylesheet comes from its npm package instead of the build's own
download; webpack 4 runs under node 20 with ``--openssl-legacy-provider``. It prints the ``dist``
folder. Fonts are not downloaded: the UI falls back to the system's fonts.

``check`` starts ``flowview serve --ui DIST`` with the documentation's fixture and renders the
dashboard, the flow page, the flow run page and its logs tab in headless chromium (Debian's
``chromium``), printing whether each shows the expected names, states, task runs and log lines;
exit code 0 when all do.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

DOC_FLOW_RUN = "8e445d74-9ca6-425b-98e5-72754b7ea174"  # woodoo-leopard, a Success run
DOC_FLOW = "8bdcf5b5-7598-49d1-a885-61612ca550de"  # hello-world, its flow
FLOWVIEW = Path(sys.executable).with_name("flowview")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowview" / "legacy-ui"


def _source_key(source: Path) -> tuple[str, bytes | None]:
    """The commit of a git source (and its archive), or a hash of a plain tree's lock file."""
    probe = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True)
    if probe.returncode == 0:
        commit = probe.stdout.strip()
        archive = subprocess.run(
            ["git", "-C", str(source), "archive", commit], capture_output=True, check=True
        )
        return commit[:12], archive.stdout
    digest = hashlib.sha256((source / "package-lock.json").read_bytes()).hexdigest()
    return f"tree-{digest[:12]}", None


def build(source: Path) -> Path:
    key, archive = _source_key(source)
    folder = cache_root() / key
    dist = folder / "dist"
    if (dist / "index.html").is_file():
        return dist
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if archive is not None:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    else:
        skipped = shutil.ignore_patterns("node_modules", "dist")
        shutil.copytree(source, folder, dirs_exist_ok=True, ignore=skipped)
    package = json.loads((folder / "package.json").read_text())
    package["overrides"] = package.get("resolutions", {})
    (folder / "package.json").write_text(json.dumps(package, indent=2))
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--legacy-peer-deps"],
                   cwd=folder, check=True)
    shutil.copy(folder / "node_modules/graphiql/graphiql.min.css", folder / "src/styles/graphiql.css")
    environment = {**os.environ, "NODE_OPTIONS": "--openssl-legacy-provider",
                   "VUE_APP_RELEASE_TIMESTAMP": "2022-09-23T00:00:00Z"}
    subprocess.run(["npx", "vue-cli-service", "build"], cwd=folder, env=environment, check=True)
    return dist


# Each page of the UI checked, with what it must show of the documentation's data.
PAGES = {
    # The fixture's runs are from 2021: the dashboard's last-day/last-month panels are empty.
    "dashboard": ("/", ("Dashboard", "agent")),
    "flow": (f"/flow/{DOC_FLOW}", ("hello-world",)),
    "flow run": (f"/flow-run/{DOC_FLOW_RUN}", ("woodoo-leopard", "Success", "say_hello")),
    "flow run logs": (f"/flow-run/{DOC_FLOW_RUN}?logs", ("Beginning Flow run for 'hello-world'",)),
}
_CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000"]


def check(dist: Path, screenshot: Path | None = None) -> bool:
    """Render each page of :data:`PAGES` from ``flowview serve --ui dist``; True if all show."""
    server = subprocess.Popen([str(FLOWVIEW), "serve", "--port", "0", "--ui", str(dist),
                               "--no-scheduler", "--no-zombie-killer"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    results = []
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        for name, (path, texts) in PAGES.items():
            rendered = subprocess.run([*_CHROMIUM, "--dump-dom", url + path],
                                      capture_output=True, text=True, timeout=180).stdout
            rendered = rendered.replace("&#39;", "'")
            for text in texts:
                results.append(text in rendered)
                print(f"{name} ({path}): {text!r} {'shown' if results[-1] else 'NOT shown'}")
        if screenshot is not None:
            subprocess.run(
                [*_CHROMIUM, "--hide-scrollbars", "--window-size=1400,900",
                 f"--screenshot={screenshot.resolve()}", f"{url}/flow-run/{DOC_FLOW_RUN}"],
                capture_output=True, timeout=180, check=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return all(results)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="build the UI from SOURCE (cached by commit)")
    build_command.add_argument("source", type=Path)
    check_command = commands.add_parser("check", help="drive the built UI in headless chromium")
    check_command.add_argument("dist", type=Path, nargs="?")
    check_command.add_argument("--screenshot", type=Path, help="also save the page as a PNG")
    arguments = parser.parse_args()
    if arguments.command == "build":
        print(build(arguments.source))
        return 0
    dist = arguments.dist or next(iter(sorted(cache_root().glob("*/dist"))), None)
    if dist is None or not (dist / "index.html").is_file():
        print(f"no built UI: run `python scripts/legacy_ui.py build SOURCE` first (cache: {cache_root()})")
        return 2
    return 0 if check(dist, arguments.screenshot) else 1


if __name__ == "__main__":
    sys.exit(main())
