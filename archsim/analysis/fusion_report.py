"""Fusion results for the summary: groups, their SRAM, and the DRAM bytes they saved.

Savings are measured, not estimated: the same workload is mapped without fusion and the
DRAM traffic of each fused-away intermediate in that program (its spill writes and the
fetches that read it back) is what the group saved; the run's total saving is the
difference of the two programs' DRAM bytes.
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


def _dram_bytes_by_stream(program: Program) -> Counter[int]:
    by_stream: Counter[int] = Counter()
    for op in program.transfers():
        if _touches_dram(op):
            by_stream[op.stream] += op.nbytes
    return by_stream


def fusion_summary(
    request: FusionRequest, fused: Program, unfused: Program | None, graph: WorkloadGraph
) -> dict[str, Any]:
    """Summary keys describing fusion; ``unfused`` is the same mapping without fusion
    (None when no group was formed: nothing was saved)."""
    by_stream = _dram_bytes_by_stream(unfused) if unfused is not None else Counter()
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
    saved = dram_bytes(unfused) - dram_bytes(fused) if unfused is not None else 0
    return {
        "fusion": request.mode,
        "fusion_groups": groups,
        "fusion_fallbacks": [
            {"layers": list(fallback.members), "reason": fallback.reason}
            for fallback in fused.fusion_fallbacks
        ],
        "dram_bytes_saved_by_fusion": saved,
    }
