"""The site in a real browser: Debian's chromium, driven by playwright-core from the Node
scripts in tests/browser/, against the bundled demo served by `catalogue serve`.

- WCAG 2.1 A/AA checks with axe-core on the search, variable, dataset and list pages;
- the README's screenshots (docs/screenshots/search.png and variable.png, 1280×900);
- the applicant's journey: search, narrow by years, add variables from two registries to
  the list, write notes, export XLSX, share, open the shared list in a fresh browser.

What they need is set up here when it can be (`python tests/test_browser.py` does the same
from the Makefile): Debian's chromium through apt-get when running as root, and the pinned
npm packages through `npm ci`. Where either cannot be had, the tests skip and say why.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import DEMO_ADMIN

TESTS = Path(__file__).resolve().parent
BROWSER = TESTS / "browser"
SCREENSHOTS = TESTS.parent / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NODE_MAJOR = 20  # playwright-core's own minimum
APT_TIMEOUT, NPM_TIMEOUT, SCRIPT_TIMEOUT = 900, 300, 240
A11Y_PAGES = ["search", "variable", "dataset", "registers", "code list", "search with a problem", "list", "login",
              "resource", "quality", "account", "accounts", "audit", "publish", "curation"]


# --- setting up the tools -------------------------------------------------------------

def _tail(text: str | bytes | None, lines: int = 15) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").strip().splitlines()[-lines:])


def ensure_chromium() -> str | None:
    """Debian's chromium at CHROMIUM, installed with apt-get if it is missing and we may;
    None when it is there, else why it is not."""
    if CHROMIUM.exists():
        return None
    if CHROMIUM != Path("/usr/bin/chromium"):
        return f"CHROMIUM={CHROMIUM} does not exist"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "chromium is not installed (/usr/bin/chromium) and installing it needs root: apt-get install chromium"
    if shutil.which("apt-get") is None:
        return "chromium is not installed (/usr/bin/chromium) and there is no apt-get to install it with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"{' '.join(command)} took more than {APT_TIMEOUT} s"
        if done.returncode != 0:
            return f"{' '.join(command)} failed ({done.returncode}):\n{_tail(done.stderr or done.stdout)}"
    return None if CHROMIUM.exists() else "apt-get installed chromium, but /usr/bin/chromium is not there"


def node() -> str | None:
    return shutil.which("node")


def ensure_node_modules() -> str | None:
    """tests/browser/node_modules with the versions package.json pins (`npm ci` from the
    committed package-lock.json when they are not there); None when ready, else why not."""
    if node() is None:
        return "node is not installed (the browser tests drive chromium with playwright-core, an npm package)"
    version = subprocess.run([node(), "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < NODE_MAJOR:
        return f"node {version} is too old: playwright-core needs node {NODE_MAJOR} or newer"
    if _installed_as_pinned():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so tests/browser/node_modules cannot be set up (npm ci)"
    try:
        done = subprocess.run([npm, "ci", "--prefix", str(BROWSER), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=NPM_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"npm ci --prefix tests/browser took more than {NPM_TIMEOUT} s"
    if done.returncode != 0:
        return f"npm ci --prefix tests/browser failed ({done.returncode}):\n{_tail(done.stderr)}"
    return None if _installed_as_pinned() else "npm ci ran, but node_modules lacks the pinned packages"


def _installed_as_pinned() -> bool:
    pinned = json.loads((BROWSER / "package.json").read_text(encoding="utf-8"))["dependencies"]
    for name, version in pinned.items():
        manifest = BROWSER / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text(encoding="utf-8"))["version"] != version:
            return False
    return True


def ensure_browser_tools() -> str | None:
    """None when chromium and the npm packages are ready, else the reason they are not."""
    return ensure_chromium() or ensure_node_modules()


# --- running the scripts --------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_tools():
    reason = ensure_browser_tools()
    if reason:
        pytest.skip(f"browser tests need chromium and node: {reason}")


def run_script(script: str, base_url: str, out: Path, *options: str, env: dict[str, str] | None = None) -> dict:
    """`node tests/browser/SCRIPT BASE_URL OUT [OPTIONS]` (with `env` added to the
    environment): its one JSON answer."""
    try:
        done = subprocess.run([node(), str(BROWSER / script), base_url, str(out), *options], cwd=BROWSER,
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script} took more than {SCRIPT_TIMEOUT} s:\n{_tail(exc.stderr, 40)}")
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{script} exited {done.returncode} without a JSON answer:\n"
                    f"stdout:\n{_tail(done.stdout, 40)}\nstderr:\n{_tail(done.stderr, 40)}")
    if "error" in result and "ok" not in result:
        pytest.fail(f"{script} failed:\n{result['error']}\nstderr:\n{_tail(done.stderr, 20)}")
    return result


# --- accessibility --------------------------------------------------------------------

@pytest.fixture(scope="module", params=[1280, 390], ids=["laptop", "phone"])
def axe_report(browser_tools, demo_server, tmp_path_factory, request) -> dict[str, dict]:
    result = run_script("a11y.mjs", demo_server, tmp_path_factory.mktemp("a11y"),
                        env={"A11Y_LOGIN": f"{DEMO_ADMIN[0]}:{DEMO_ADMIN[1]}", "A11Y_WIDTH": str(request.param)})
    return {page["name"]: page for page in result["pages"]}


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} element(s)] {v['helpUrl']}")
        for node_ in v["nodes"][:8]:
            html = " ".join(node_["html"].split())
            lines.append(f"    {' '.join(map(str, node_['target']))}: {html[:160]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.mark.parametrize("name", A11Y_PAGES)
def test_page_has_no_wcag_violations(axe_report, name):
    page = axe_report[name]
    if page.get("skipped"):
        pytest.skip(page["skipped"])
    assert page["status"] == page["expected"], f"{page['path']} answered {page['status']}, not {page['expected']}"
    assert page["landed"] == page["path"].split("?")[0], f"{page['path']} sent the browser to {page['landed']}"
    assert not page["violations"], (
        f"axe-core finds WCAG 2.1 A/AA violations on {page['path']}:\n{describe(page['violations'])}")


# --- screenshots ----------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshots_for_the_readme(browser_tools, demo_server, tmp_path):
    """Taken every run; written over the README's own only with UPDATE_SCREENSHOTS=1 (a page
    shows harvest times, so every run's pictures differ a little)."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    result = run_script("screenshots.mjs", demo_server, folder)
    shots = {shot["name"]: shot for shot in result["shots"]}
    assert set(shots) == {"search", "variable"}
    for name, shot in shots.items():
        assert shot["status"] == 200, f"{shot['url']} answered {shot['status']}"
        path = folder / f"{name}.png"
        assert png_size(path) == (1280, 900)


# --- the API documentation -----------------------------------------------------------

def test_api_docs_show_every_operation_under_the_sites_content_security_policy(browser_tools, demo_server,
                                                                               tmp_path):
    result = run_script("docs.mjs", demo_server, tmp_path)
    operations = sum(len(methods) for methods in httpx.get(f"{demo_server}/openapi.json").json()["paths"].values())
    assert result["status"] == 200
    assert not result["violations"], f"/docs breaks the Content-Security-Policy: {result['violations']}"
    assert not result["errors"], f"/docs logs errors: {result['errors']}"
    assert not result["requests"], f"/docs asks other sites: {result['requests']}"
    assert (result["title"] or "").startswith("Helsevariabler") and result["operations"] == operations


# --- the applicant's journey ----------------------------------------------------------

@pytest.mark.parametrize("javascript", [True, False], ids=["with-javascript", "without-javascript"])
def test_applicants_journey(browser_tools, demo_server, tmp_path_factory, javascript):
    """The journey as a person does it; and again with JavaScript off, since every page
    promises to work as plain links and forms."""
    if httpx.get(f"{demo_server}/list").status_code == 404:
        pytest.skip("the variable list is not in this build yet")
    out = tmp_path_factory.mktemp("journey")
    result = run_script("journey.mjs", demo_server, out, *([] if javascript else ["--no-js"]))
    if result.get("skipped"):
        pytest.skip(result["skipped"])
    assert result.get("ok"), (
        f"the journey stopped at step {result.get('failed_step')!r} on {result.get('url')}:\n"
        f"{result.get('error')}\nsteps done: {[s['step'] for s in result.get('steps', [])]}\n"
        f"screenshot: {result.get('screenshot')}")

    chosen = result["chosen"]
    assert len(chosen) == 3 and len({v["source"] for v in chosen}) == 2

    rows = xlsx_rows(Path(result["xlsx"]))
    header, body = rows[0], rows[1:]
    ids = {v["id"] for v in chosen}
    assert all(isinstance(cell, str) for cell in header if cell is not None) and not ids & set(header), (
        f"the first row should be a header: {header}")
    in_rows = [[cell for cell in row if cell in ids] for row in body]
    assert len(body) == len(ids) and sorted(found[0] for found in in_rows if found) == sorted(ids), (
        f"one row per chosen variable {sorted(ids)} after the header; the sheet has {body}")
    for variable in chosen:
        row = next(row for row in body if variable["id"] in row)
        cells = [str(c) for c in row if c is not None]
        text = " | ".join(cells)
        assert variable["source"] in cells or variable["source_name"] in cells, (
            f"no source ({variable['source']} / {variable['source_name']}) in {text}")
        assert variable["note"] in cells, f"no note {variable['note']!r} in {text}"
        others = " | ".join(cell for cell in cells if cell != variable["note"])
        assert result["from"] in others and result["to"] in others, (
            f"no years wanted {result['from']}–{result['to']} (outside the note) in {text}")

    assert "/lists/" in result["share_url"]
    missing = [item["id"] for item in result["shared"] if not item["note_shown"]]
    assert not missing, f"the shared list {result['share_url']} does not show the notes of {missing}"


@pytest.mark.parametrize("how", ["save-one", "save-one --no-js", "leave"])
def test_notes_typed_into_the_list_are_never_lost(browser_tools, demo_server, tmp_path, how):
    """Five notes typed; one item's button pressed (with or without JavaScript), or the page
    simply reloaded: all five are there afterwards."""
    result = run_script("notes.mjs", demo_server, tmp_path, *(f"--{option.lstrip('-')}" for option in how.split()))
    assert result["kept"] == result["typed"]


@pytest.mark.parametrize("width", [390, 1366])
def test_every_page_fits_the_screen_and_no_result_column_hides_another(browser_tools, demo_server, tmp_path, width):
    """On a 390 px phone as on a laptop: no page is wider than the screen (wide tables scroll
    in their own box), and no cell of the results lies over another."""
    result = run_script("widths.mjs", demo_server, tmp_path, str(width))
    too_wide = [(p["path"], p["scroll_width"], p["widest"]) for p in result["pages"]
                if p["scroll_width"] > width or p["widest"]]
    assert all(p["status"] == 200 for p in result["pages"]), result["pages"]
    assert not too_wide, f"wider than {width} px: {too_wide}"
    assert not result["covered"], f"result cells under another: {result['covered'][:10]}"


def xlsx_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook
    book = load_workbook(path, read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    book.close()
    return [row for row in rows if any(cell not in (None, "") for cell in row)]


if __name__ == "__main__":
    # `python tests/test_browser.py`: install what the browser tests need, where it can be
    # (the Makefile's browser-deps); says what is missing and exits 0 either way.
    problem = ensure_browser_tools()
    print(f"browser tests: {problem or 'chromium and node_modules ready'}", file=sys.stderr)
