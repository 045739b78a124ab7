"""Workload layer graph: the IR of a network and its builder from a workload config."""

from archsim.workload.build import build_graph
from archsim.workload.graph import (
    MAC_OPS,
    NETWORK_INPUT,
    Gemm,
    Layer,
    OpKind,
    TensorShape,
    WorkloadGraph,
)

__all__ = [
    "MAC_OPS",
    "NETWORK_INPUT",
    "Gemm",
    "Layer",
    "OpKind",
    "TensorShape",
    "WorkloadGraph",
    "build_graph",
]
