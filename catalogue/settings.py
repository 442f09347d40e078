"""Settings: the one place the environment is read."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEMO_SOURCES = Path(__file__).parent / "demo" / "sources.toml"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    sources_file: Path
    base_uri: str
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        base = env.get("CATALOGUE_BASE_URI", "http://127.0.0.1:8000/")
        return cls(
            data_dir=Path(env.get("CATALOGUE_DATA_DIR", "data")).resolve(),
            sources_file=Path(env.get("CATALOGUE_SOURCES", str(DEMO_SOURCES))).resolve(),
            base_uri=base if base.endswith("/") else base + "/",
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8000")),
        )
