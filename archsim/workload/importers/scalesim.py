"""SCALE-Sim (v2) topology CSV -> workload config.

Two layouts, told apart by the header (the first non-blank line, which SCALE-Sim skips):

* conv: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides,`` with an optional 9th column, the stride along the width (as
  SCALE-Sim reads it). A row whose name contains ``DP`` is depthwise, as in SCALE-Sim:
  each of its Channels is convolved by Num Filter filters of its own.
* gemm: ``Layer, M, N, K,``: an (M x K) activation times a (K x N) weight.

Cells are trimmed; trailing empty cells and everything from a cell starting with ``#`` on
are ignored; further cells are allowed under columns the header names (annotations such as
``Eh, Ew``) and ignored. A bad row (too few values, a stray value, a non-integer or
non-positive value, a filter larger than its IFMAP) is a problem at its line; all are
reported at once.

Mapping. SCALE-Sim simulates each row as an independent layer that reads its IFMAP as
stated and never pads; its output size is ``ceil((IFMAP - Filter + Stride) / Stride)``,
which rounds up where frameworks round down. Each conv row becomes a conv2d with no
padding, except where that rounding needs one pixel of symmetric padding to reproduce
SCALE-Sim's output size, so every row has exactly SCALE-Sim's output size and MACs. Each
gemm row becomes a matmul (units N, no bias) over an input of M positions (height M,
width 1) of K channels: its GEMM is SCALE-Sim's M x K x N.

Rows are connected by shape: the first row's IFMAP is the network input, and each row
reads the most recent earlier tensor (an earlier row's output or an input) whose height,
width and channels equal its IFMAP; two rows reading the same tensor are branches. A row
whose IFMAP matches no earlier tensor reads it from DRAM, as SCALE-Sim simulates every row
on its own: the importer adds an `input` layer (``NAME.ifmap``) with that shape before it.
SCALE-Sim topologies often leave out pooling layers, padding and shortcuts, so most of
their rows chain, and the rest get their own input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from archsim.config.source import SourceMap
from archsim.config.validation import validate_model
from archsim.config.workload import INPUT_NAME, WorkloadConfig
from archsim.domain import Precision
from archsim.errors import ConfigError, Problem
from archsim.workload.importers.names import LayerNamer, size_value

Layout = Literal["conv", "gemm"]

CONV_COLUMNS = (
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)
GEMM_COLUMNS = ("Layer", "M", "N", "K")
_COLUMNS: dict[Layout, tuple[str, ...]] = {"conv": CONV_COLUMNS, "gemm": GEMM_COLUMNS}
_STRIDE_WIDTH_COLUMN = 8
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Height, width, channels of a tensor.
_Tensor = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Row:
    """One topology row: its line, name and integers (conv: the 7 columns plus the stride
    along the width; gemm: M, N, K)."""

    line: int
    name: str
    values: tuple[int, ...]


def import_scalesim_csv(
    path: str | Path, *, name: str | None = None, layout: Layout | None = None
) -> WorkloadConfig:
    """The workload of the SCALE-Sim topology CSV at `path` (see the module docstring).

    `layout` ("conv" or "gemm") defaults to what the header shows. The workload is named
    `name` (default: the file's stem), batch 1, int8. Raises ConfigError listing every
    problem, each at its file:line.
    """
    file = str(path)
    lines = _read_lines(path)
    numbered = [(number, _cells(text)) for number, text in enumerate(lines, start=1)]
    numbered = [(number, cells) for number, cells in numbered if cells]
    if not numbered:
        raise ConfigError(Problem("empty topology file (expected a header and rows)", file))
    header_line, header = numbered[0]
    chosen = _layout(header, layout, file, header_line)
    rows, problems = _parse_rows(numbered[1:], header, chosen, file)
    if problems:
        raise ConfigError(problems)
    if not rows:
        raise ConfigError(Problem("the topology has a header but no layer rows", file))
    input_tensor, layers = _layers(rows, chosen, file)
    height, width, channels = input_tensor
    return validate_model(
        WorkloadConfig,
        {
            "name": name or Path(path).stem,
            "description": f"Imported from {Path(path).name} (SCALE-Sim {chosen} topology)",
            "input": {"width": width, "height": height, "channels": channels},
            "batch": 1,
            "precision": Precision.INT8.value,
            "layers": layers,
        },
        SourceMap(file),
    )


def _read_lines(path: str | Path) -> list[str]:
    file = str(path)
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise ConfigError(Problem("file not found", file)) from None
    except IsADirectoryError:
        raise ConfigError(Problem("is a directory, expected a CSV file", file)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(f"not UTF-8 text (byte {exc.start})", file)) from None
    except OSError as exc:
        raise ConfigError(Problem(f"cannot read file: {exc.strerror or exc}", file)) from None


def _cells(text: str) -> list[str]:
    """Trimmed cells up to a '#' comment cell, trailing empty cells dropped."""
    cells = []
    for cell in (part.strip() for part in text.split(",")):
        if cell.startswith("#"):
            break
        cells.append(cell)
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _layout(header: Sequence[str], wanted: Layout | None, file: str, line: int) -> Layout:
    lowered = [cell.lower() for cell in header]
    seen: Layout | None = None
    if lowered[1:4] == ["m", "n", "k"]:
        seen = "gemm"
    elif len(lowered) > 1 and "ifmap" in lowered[1]:
        seen = "conv"
    if wanted is not None and seen not in (None, wanted):
        message = f"the header is that of a {seen} topology, but layout {wanted!r} was asked for"
        raise ConfigError(Problem(message, file, line))
    layout = wanted or seen
    if layout is None:
        raise ConfigError(
            Problem(
                "cannot tell the layout from the header; expected "
                f"'{', '.join(CONV_COLUMNS)}' (conv) or '{', '.join(GEMM_COLUMNS)}' (gemm), "
                f"got '{', '.join(header)}'",
                file,
                line,
            )
        )
    return layout


def _parse_rows(
    numbered: Sequence[tuple[int, list[str]]], header: Sequence[str], layout: Layout, file: str
) -> tuple[list[_Row], list[Problem]]:
    rows, problems = [], []
    for line, cells in numbered:
        row, row_problems = _parse_row(line, cells, header, layout, file)
        problems.extend(row_problems)
        if row is not None:
            rows.append(row)
    return rows, problems


def _parse_row(
    line: int, cells: list[str], header: Sequence[str], layout: Layout, file: str
) -> tuple[_Row | None, list[Problem]]:
    """The row on `line`, or None and the problems that make it bad."""
    columns = _COLUMNS[layout]
    expected = f"expected {len(columns)} values ({', '.join(columns)})"
    if len(cells) < len(columns):
        return None, [Problem(f"{expected}, got {len(cells)}", file, line)]
    fields = list(zip(columns[1:], cells[1 : len(columns)], strict=True))
    problems = []
    for index in range(len(columns), len(cells)):
        title = header[index] if index < len(header) else ""
        if not cells[index]:
            continue
        if (
            layout == "conv"
            and index == _STRIDE_WIDTH_COLUMN
            and "stride" in (title or "stride").lower()
        ):
            fields.append(("Stride width", cells[index]))
        elif not title:
            unnamed = (
                f"value {cells[index]!r} in column {index + 1}, which the header does not name"
            )
            problems.append(Problem(f"{unnamed}; {expected}", file, line))
    values = []
    for title, text in fields:
        value, message = _integer(text)
        if message is not None:
            problems.append(Problem(message, file, line, path=title))
        values.append(value)
    if layout == "conv" and not problems:
        values = values if len(values) == 8 else [*values, values[6]]
        problems = [Problem(message, file, line) for message in _filter_problems(values)]
    return (None if problems else _Row(line, cells[0], tuple(values))), problems


def _integer(text: str) -> tuple[int, str | None]:
    """The integer `text` holds (>= 1), or 0 and why it is bad."""
    if not _INTEGER.fullmatch(text):
        return 0, f"expected an integer, got {text!r}"
    value = int(text)
    return (value, None) if value >= 1 else (0, f"must be at least 1, got {value}")


def _filter_problems(values: Sequence[int]) -> list[str]:
    """SCALE-Sim's own check: a filter may not be larger than its IFMAP."""
    problems = []
    for filter_index, ifmap_index in ((2, 0), (3, 1)):
        if values[filter_index] > values[ifmap_index]:
            problems.append(
                f"{CONV_COLUMNS[filter_index + 1]} {values[filter_index]} is larger than "
                f"{CONV_COLUMNS[ifmap_index + 1]} {values[ifmap_index]}"
            )
    return problems


def _layers(
    rows: Sequence[_Row], layout: Layout, file: str
) -> tuple[_Tensor, list[dict[str, Any]]]:
    """The network input and the layers, each reading the latest tensor of its IFMAP shape
    (or, when there is none, an input layer of its own)."""
    namer = LayerNamer()
    network_input = _ifmap(rows[0], layout)
    tensors: list[tuple[_Tensor, str]] = [(network_input, INPUT_NAME)]
    layers: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        ifmap = _ifmap(row, layout)
        name = namer.claim(row.name, f"layer{index}")
        producer = next((label for shape, label in reversed(tensors) if shape == ifmap), None)
        if producer is None:
            producer = namer.claim(f"{name}.ifmap", f"layer{index}.ifmap")
            height, width, channels = ifmap
            layers.append(
                {
                    "name": producer,
                    "op": "input",
                    "width": width,
                    "height": height,
                    "channels": channels,
                }
            )
            tensors.append((ifmap, producer))
        layer, output = _conv_layer(row) if layout == "conv" else _gemm_layer(row)
        previous = layers[-1]["name"] if layers else INPUT_NAME
        inputs = {} if producer == previous else {"inputs": [producer]}
        layers.append({"name": name, **layer, **inputs})
        tensors.append((output, name))
    return network_input, layers


def _ifmap(row: _Row, layout: Layout) -> _Tensor:
    if layout == "gemm":
        m, _, k = row.values
        return (m, 1, k)
    height, width, _, _, channels = row.values[:5]
    return (height, width, channels)


def _describe(tensor: _Tensor, layout: Layout) -> str:
    height, width, channels = tensor
    if layout == "gemm":
        return f"{height}x{channels} (rows x columns)"
    return f"{height}x{width}x{channels} (height x width x channels)"


def _scalesim_padding(size: int, kernel: int, stride: int) -> int:
    """Symmetric padding with which floor division gives SCALE-Sim's rounded-up output
    size ``ceil((size - kernel + stride) / stride)``; 0 when the stride divides evenly."""
    remainder = (size - kernel) % stride
    return 0 if remainder == 0 else -(-(stride - remainder) // 2)


def _conv_layer(row: _Row) -> tuple[dict[str, Any], _Tensor]:
    """The conv2d fields of a conv row and its output tensor."""
    height, width, kernel_h, kernel_w, channels, filters, stride_h, stride_w = row.values
    depthwise = "DP" in row.name
    outputs = channels * filters if depthwise else filters
    fields: dict[str, Any] = {
        "op": "conv2d",
        "filters": outputs,
        "kernel": size_value(kernel_h, kernel_w),
        "stride": size_value(stride_h, stride_w),
        "padding": size_value(
            _scalesim_padding(height, kernel_h, stride_h),
            _scalesim_padding(width, kernel_w, stride_w),
        ),
    }
    if depthwise:
        fields["groups"] = channels
    output = (
        -(-(height - kernel_h + stride_h) // stride_h),
        -(-(width - kernel_w + stride_w) // stride_w),
        outputs,
    )
    return fields, output


def _gemm_layer(row: _Row) -> tuple[dict[str, Any], _Tensor]:
    """The matmul fields of a gemm row and its output tensor."""
    m, n, _ = row.values
    return {"op": "matmul", "units": n, "bias": False}, (m, 1, n)
