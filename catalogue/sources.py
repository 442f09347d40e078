"""The sources configuration: which sources to harvest, how, and who publishes them."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from catalogue.gate.shacl import DEFAULT_PROFILE, Profile
from catalogue.model.models import Agent, ContactPoint, Text
from catalogue.profiles.healthdcat_ap_r8 import DatasetType, HealthCategory, Provenance

DEMO_PLACEHOLDER = "{demo}"
# The URL of a source that is published by upload only (see catalogue.pipeline.publishing); kinds
# whose formats publishers may upload (publishing.FORMATS lists them per kind).
UPLOAD_URL = "upload:"
UPLOAD_KINDS = ("dcat", "table")


class ConfigError(ValueError):
    """The sources configuration is wrong; the message names file, source and field."""


class PublisherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    uri: str
    identifier: str | None = None
    contact: ContactPoint | None = None  # HealthDCAT-AP asks one of every dataset publisher

    @field_validator("name", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return {"nb": value} if isinstance(value, str) else value


INTERVAL_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
T = TypeVar("T")


class SourceConfig(BaseModel):
    """One `[[source]]` table: what every kind shares is declared here (with defaults
    that suit a public API); options of the source's kind stay in `options`."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    publisher: str
    kind: str
    url: str
    timeout: float = Field(default=30.0, gt=0)            # seconds per request
    retries: int = Field(default=3, ge=0)                 # on timeouts, 5xx, 429
    max_response_bytes: int = Field(default=50 * 2**20, gt=0)
    max_source_bytes: int = Field(default=200 * 2**20, gt=0)  # all requests of one harvest
    request_deadline: float = Field(default=120.0, gt=0)  # seconds one request may take in all
    source_deadline: float = Field(default=900.0, gt=0)   # seconds all requests of one harvest may take
    max_requests: int = Field(default=20000, gt=0)        # per harvest: bounds paging of every kind
    max_redirects: int = Field(default=5, ge=0)
    redirect_hosts: list[str] = Field(default_factory=list)  # besides the host of `url`
    max_shrink: float = Field(default=0.5, ge=0, le=1)    # share of its records one harvest may remove
    interval: str | None = Field(default=None, pattern=r"^\d+[mhdw]$")  # "30m", "6h", "1d", "2w"
    profile: Profile = DEFAULT_PROFILE                    # which of the gate's profiles applies
    shapes: list[Path] = Field(default_factory=list)      # extra SHACL files for this source's gate

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def interval_seconds(self) -> int | None:
        return int(self.interval[:-1]) * INTERVAL_UNITS[self.interval[-1]] if self.interval else None


class CatalogueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text = {"nb": "Helsevariabler", "en": "Health variables"}
    description: Text = {
        "nb": "Variabler fra norske helseregistre og -kilder samlet på ett sted.",
        "en": "Variables from Norwegian health registries and sources in one place.",
    }
    publisher: str
    contact: ContactPoint
    # For /catalog?profile=healthdcat-ap: the EHDS Art. 51 categories of the datasets, by source
    # id or dataset id ("source/dataset"), which the health data access body says and no source does.
    health_categories: dict[str, list[HealthCategory]] = Field(default_factory=dict)
    # For the same profile, likewise: where the data comes from (Norway's provenance vocabulary:
    # nasjonal, an authoritative source; tredjepart; bruker; vedtak) and the EU dataset type.
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    dataset_types: dict[str, DatasetType] = Field(default_factory=dict)

    @staticmethod
    def stated(table: dict[str, T], dataset_id: str, source_id: str) -> T | None:
        """What `table` states of a dataset: by its id ("source/dataset"), else by its source's."""
        return table.get(dataset_id, table.get(source_id))


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    catalogue: CatalogueConfig
    publishers: dict[str, PublisherConfig]
    source: list[SourceConfig] = Field(default_factory=list)
    path: Path | None = None

    def agent(self, key: str) -> Agent:
        publisher = self.publishers[key]
        return Agent(uri=publisher.uri, name=publisher.name, identifier=publisher.identifier)

    def get(self, source_id: str) -> SourceConfig:
        for source in self.source:
            if source.id == source_id:
                return source
        raise ConfigError(f"{self.path}: no source with id {source_id!r} "
                          f"(known: {', '.join(s.id for s in self.source)})")

    @property
    def uses_demo_files(self) -> bool:
        return any(s.url.startswith(DEMO_PLACEHOLDER) for s in self.source)


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources configuration not found (set CATALOGUE_SOURCES)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate({**raw, "path": path})
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_describe(raw, e) for e in exc.errors())) from None
    seen: set[str] = set()
    for source in config.source:
        if source.id in seen:
            raise ConfigError(f"{path}: source id {source.id!r} is used twice")
        seen.add(source.id)
        if source.publisher not in config.publishers:
            raise ConfigError(f"{path}: source {source.id!r}, field 'publisher': "
                              f"{source.publisher!r} is not a key of [publishers]")
        if source.url.startswith(UPLOAD_URL) and (source.url != UPLOAD_URL or source.kind not in UPLOAD_KINDS):
            raise ConfigError(f"{path}: source {source.id!r}, field 'url': {UPLOAD_URL!r} (published by "
                              f"upload only) is the whole URL, for kinds {', '.join(UPLOAD_KINDS)}")
        # Extra shape files are named relative to the configuration file.
        source.shapes = [p if p.is_absolute() else Path(path).parent / p for p in source.shapes]
        for shapes in source.shapes:
            if not shapes.is_file():
                raise ConfigError(f"{path}: source {source.id!r}, field 'shapes': {shapes} not found")
    if config.catalogue.publisher not in config.publishers:
        raise ConfigError(f"{path}: [catalogue] field 'publisher': "
                          f"{config.catalogue.publisher!r} is not a key of [publishers]")
    return config


def _describe(raw: dict, error: dict) -> str:
    loc = list(error["loc"])
    where = ".".join(str(p) for p in loc)
    if loc[:1] == ["source"] and len(loc) > 1 and isinstance(loc[1], int):
        sources = raw.get("source", [])
        source_id = sources[loc[1]].get("id", f"#{loc[1] + 1}") if loc[1] < len(sources) else "?"
        where = f"source {source_id!r}, field {'.'.join(str(p) for p in loc[2:])!r}"
    return f"{where}: {error['msg']}"
