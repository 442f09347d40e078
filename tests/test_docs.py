"""The documentation keeps up with the code: every option a source can set is described in
docs/sources.md and every setting and command in docs/operating.md, so nothing new goes
unexplained, and every link between the README and the files in docs/ leads somewhere."""
from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import pytest
from pydantic import BaseModel

from catalogue import settings
from catalogue.cli import main
from catalogue.harvesters import KINDS
from catalogue.sources import SourceConfig

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DOC = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
OPERATING_DOC = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _option_models() -> dict[str, type[BaseModel]]:
    """Each kind's options model and the models nested in it."""
    found: dict[str, type[BaseModel]] = {}

    def add(model: type[BaseModel]) -> None:
        found.setdefault(model.__name__, model)
        for field in model.model_fields.values():
            for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel) \
                        and candidate.__module__.startswith("catalogue.harvesters"):
                    add(candidate)

    for target in KINDS.values():
        module_name, _ = target.split(":")
        module = import_module(f"catalogue.harvesters.{module_name}")
        for value in vars(module).values():
            if isinstance(value, type) and value.__name__.endswith("Options") \
                    and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                add(value)
    return found


@pytest.mark.parametrize("model", [SourceConfig, *_option_models().values()], ids=lambda m: m.__name__)
def test_every_source_option_is_documented(model):
    missing = [name for name in model.model_fields if f"`{name}`" not in SOURCES_DOC and f"{name} =" not in SOURCES_DOC]

    assert not missing, f"{model.__name__}: options not described in docs/sources.md: {missing}"


def test_every_source_kind_has_its_section():
    missing = [kind for kind in KINDS if not re.search(rf"(?m)^## `{re.escape(kind)}`: ", SOURCES_DOC)]

    assert not missing, f"source kinds without a section in docs/sources.md: {missing}"


def test_every_setting_is_documented():
    read = set(re.findall(r'(?:env|environ)\.get\("([A-Z_]+)"', Path(settings.__file__).read_text(encoding="utf-8")))
    missing = [name for name in sorted(read) if f"`{name}" not in OPERATING_DOC]

    assert read and not missing, f"settings not described in docs/operating.md: {missing}"


def test_every_command_is_documented(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    commands = re.search(r"\{([a-z,]+)\}", capsys.readouterr().out).group(1).split(",")
    missing = [name for name in commands if f"`catalogue {name}" not in OPERATING_DOC]

    assert not missing, f"commands not described in docs/operating.md: {missing}"


def _prose(text: str) -> str:
    """The text outside fenced code blocks, where a link is a link."""
    return re.sub(r"(?ms)^```.*?^```", "", text)


def _anchors(text: str) -> set[str]:
    """The anchors a heading makes, as GitHub makes them: lower case, punctuation dropped,
    spaces as hyphens, a repeated heading numbered."""
    anchors: set[str] = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", _prose(text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count, candidate = 0, slug
        while candidate in anchors:
            count += 1
            candidate = f"{slug}-{count}"
        anchors.add(candidate)
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto: lead out of the repository
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif anchor and anchor not in _anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading makes #{anchor} in {linked.relative_to(ROOT)}")

    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"
