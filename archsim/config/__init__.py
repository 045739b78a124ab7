"""Configuration: YAML loading with positions, overrides, validated frozen models, schemas."""

from archsim.config.arch import (
    ArchConfig,
    AttachConfig,
    Coordinate,
    DramConfig,
    InterconnectConfig,
    MacClusterConfig,
    MeshConfig,
    SramConfig,
    endpoint_coordinates,
    load_arch,
    load_arch_text,
)
from archsim.config.base import CrossChecks, StrictModel
from archsim.config.dram_presets import DRAM_PRESETS, DramPreset
from archsim.config.overrides import apply_overrides
from archsim.config.schema import arch_json_schema, json_schema_for
from archsim.config.source import SourceMap, dotted
from archsim.config.validation import (
    attach_source,
    load_model,
    load_model_text,
    path_of,
    problem_for,
    source_of,
    validate_model,
)
from archsim.config.workload import (
    WorkloadConfig,
    load_workload,
    load_workload_text,
    workload_json_schema,
)
from archsim.config.yaml_loader import load_yaml, load_yaml_text

__all__ = [
    "DRAM_PRESETS",
    "ArchConfig",
    "AttachConfig",
    "Coordinate",
    "CrossChecks",
    "DramConfig",
    "DramPreset",
    "InterconnectConfig",
    "MacClusterConfig",
    "MeshConfig",
    "SourceMap",
    "SramConfig",
    "StrictModel",
    "WorkloadConfig",
    "apply_overrides",
    "arch_json_schema",
    "attach_source",
    "dotted",
    "endpoint_coordinates",
    "json_schema_for",
    "load_arch",
    "load_arch_text",
    "load_model",
    "load_model_text",
    "load_workload",
    "load_workload_text",
    "load_yaml",
    "load_yaml_text",
    "path_of",
    "problem_for",
    "source_of",
    "validate_model",
    "workload_json_schema",
]
