"""Fusion results for the summary: groups, their SRAM, and the DRAM bytes they saved.

Savings are measured, not estimated: the DRAM traffic of the same workload mapped without
fusion is counted per stream (``archsim.mapping.dram_traffic``: exactly the bytes that
program would move, without building it), and the traffic of each fused-away
intermediate there (its spill writes and the fetches that read it back) is what the group
saved; the run's total saving is the difference of the unfused and fused DRAM bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from archsim.domain import EndpointKind
from archsim.mapping.fusion import FusionRequest
from archsim.mapping.mapper import activation_stream
from archsim.mapping.program import Program, TransferOp
from archsim.workload.graph import WorkloadGraph


def _touches_dram(op: TransferOp) -> bool:
    return EndpointKind.DRAM in (op.src.kind, op.dst.kind)


def dram_bytes(program: Program) -> int:
    """Bytes the program moves to or from DRAM."""
    return sum(op.nbytes for op in program.transfers() if _touches_dram(op))


def dram_bytes_by_stream(program: Program) -> Counter[int]:
    """Bytes the program moves to or from DRAM, per stream."""
    by_stream: Counter[int] = Counter()
    for op in program.transfers():
        if _touches_dram(op):
            by_stream[op.stream] += op.nbytes
    return by_stream


def fusion_summary(
    request: FusionRequest,
    fused: Program,
    unfused_dram_bytes: Counter[int] | None,
    graph: WorkloadGraph,
) -> dict[str, Any]:
    """Summary keys describing fusion; ``unfused_dram_bytes`` are the DRAM bytes per stream
    of the same workload mapped without fusion (None when no group was formed: nothing
    was saved)."""
    by_stream = unfused_dram_bytes if unfused_dram_bytes is not None else Counter()
    groups = []
    for group in fused.fusion_groups:
        streams = [activation_stream(graph, name) for name in group.intermediates]
        groups.append(
            {
                "layers": list(group.members),
                "band_rows": group.band_rows,
                "bands": group.band_count,
                "sram_bytes": group.sram_bytes,
                "line_buffer_bytes": sum(group.buffer_bytes),
                "weight_bytes": group.weight_bytes,
                "intermediate_bytes": sum(group.intermediate_bytes),
                "dram_bytes_saved": sum(by_stream[stream] for stream in streams),
            }
        )
    saved = 0
    if unfused_dram_bytes is not None:
        saved = sum(unfused_dram_bytes.values()) - dram_bytes(fused)
    return {
        "fusion": request.mode,
        "fusion_groups": groups,
        "fusion_fallbacks": [
            {"layers": list(fallback.members), "reason": fallback.reason}
            for fallback in fused.fusion_fallbacks
        ],
        "dram_bytes_saved_by_fusion": saved,
    }
