"""The vectorized input spans the tiling search uses agree with ``input_region``, span by
span, on every layer of the shipped workloads that has them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import WORKLOAD_DIR

from archsim.config import load_workload
from archsim.mapping.regions import Region, input_region, input_sides
from archsim.mapping.tiling import executes
from archsim.workload import build_graph

WORKLOADS = ["tiny_cnn", "mobilenet_v2", "resnet50", "yolov3_tiny", "bert_base"]


def _sides(region: Region) -> tuple[tuple[int, int], ...]:
    return region.rows, region.cols, region.channels


@pytest.mark.parametrize("workload", WORKLOADS)
def test_input_sides_equal_input_region_span_by_span(workload: str) -> None:
    graph = build_graph(load_workload(WORKLOAD_DIR / f"{workload}.yaml"))
    checked = 0
    for layer in graph.layers:
        if not executes(layer):
            continue
        out = layer.output_shape
        full = Region((0, out.height), (0, out.width), (0, out.channels))
        for index in range(len(layer.input_shapes)):
            whole = _sides(input_region(layer, index, full))
            for dim, size in enumerate((out.height, out.width, out.channels)):
                for block in sorted({1, 3, max(1, size // 3), size}):
                    starts = np.arange(0, size, block, dtype=np.int64)
                    ends = np.minimum(starts + block, size)
                    sides = input_sides(layer, index, dim, starts, ends)
                    if sides is None:
                        continue
                    checked += 1
                    for start, end, first, last in zip(starts, ends, *sides, strict=True):
                        box = list(_sides(full))
                        box[dim] = (int(start), int(end))
                        expected = list(whole)
                        expected[dim] = (int(first), int(last))
                        assert _sides(input_region(layer, index, Region(*box))) == tuple(
                            expected
                        ), (layer.name, index, dim, block)
    assert checked  # every shipped workload has convolutions or element-wise layers
