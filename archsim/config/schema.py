"""JSON Schemas of the configuration files, for editor completion and validation."""

from __future__ import annotations

from typing import Any

import pydantic

from archsim.config.arch import ArchConfig

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema_for(model_cls: type[pydantic.BaseModel], title: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``model_cls`` as a file format named ``title``."""
    schema = model_cls.model_json_schema()
    schema["title"] = title
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def arch_json_schema() -> dict[str, Any]:
    """The JSON Schema of architecture YAML files."""
    return json_schema_for(ArchConfig, "archsim architecture")
