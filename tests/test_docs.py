"""The README documents every option a source can set, so a new option cannot go unexplained."""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pytest
from pydantic import BaseModel

from catalogue.harvesters import KINDS
from catalogue.sources import SourceConfig

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


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
def test_every_source_option_is_in_the_readme(model):
    missing = [name for name in model.model_fields if f"`{name}`" not in README and f"{name} =" not in README]

    assert not missing, f"{model.__name__}: options not described in README.md: {missing}"
