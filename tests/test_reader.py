"""Reader API: round trip of a real run, metadata, row selections, pandas, corrupt files."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import archsim
from archsim.cli.main import cli
from archsim.config import load_workload
from archsim.domain import State, TransferKind
from archsim.trace import (
    SCHEMA_VERSION,
    Trace,
    TraceData,
    TraceFormatError,
    TraceWriter,
    open_trace,
)
from archsim.trace.schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
EDGE_BUS = ROOT / "arch" / "edge_bus.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"


class Run:
    """`archsim run --json --out` on tiny_cnn, with the data handed to the writer."""

    def __init__(self, path: Path, printed: dict[str, Any], data: TraceData, attrs: dict) -> None:
        self.path, self.printed, self.data, self.attrs = path, printed, data, attrs


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    captured: dict[str, Any] = {}
    real_commit = TraceWriter.commit

    def spy(writer: TraceWriter, data: TraceData, attrs: dict, *args: Any) -> Path:
        captured.update(data=data, attrs=dict(attrs))  # the whole run: less than FLUSH_ROWS
        return real_commit(writer, data, attrs, *args)

    path = tmp_path_factory.mktemp("reader") / "tiny.h5"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TraceWriter, "commit", spy)
        result = CliRunner().invoke(
            cli, ["run", str(EDGE_BUS), str(TINY_CNN), "--json", "--out", str(path)]
        )
    assert result.exit_code == 0, result.output
    yield Run(path, json.loads(result.stdout), captured["data"], captured["attrs"])


@pytest.fixture(scope="module")
def trace(run: Run) -> Trace:
    return open_trace(run.path)


def datasets(h5: h5py.File) -> dict[str, h5py.Dataset]:
    found: dict[str, h5py.Dataset] = {}
    h5.visititems(
        lambda name, node: found.update({name: node}) if isinstance(node, h5py.Dataset) else None
    )
    return found


# --- round trip -----------------------------------------------------------------------------


def test_every_dataset_written_by_a_run_reads_back_unchanged(run: Run, trace: Trace) -> None:
    written = run.data.tables()
    with h5py.File(run.path, "r") as h5:
        stored = datasets(h5)
        tables = {name for name in stored if not name.startswith("utilization/")}
        optional = {table.name for table in TABLES if table.optional}
        expected = {
            f"{t}/{c}"
            for t, columns in written.items()
            for c, values in columns.items()
            if t not in optional or len(values)  # an empty optional table is not written
        }
        assert tables == expected
        for name, dataset in stored.items():
            group, column = name.split("/")
            raw = dataset.asstr()[()] if h5py.check_string_dtype(dataset.dtype) else dataset[()]
            read = (
                trace.utilization[column]
                if group == "utilization"
                else getattr(trace, group)[column]
            )
            np.testing.assert_array_equal(read, raw, err_msg=name)
            if group != "utilization":
                np.testing.assert_array_equal(read, written[group][column], err_msg=name)
                assert read.dtype.kind == written[group][column].dtype.kind, name
        assert trace.utilization["bin_ps"] == h5["utilization"].attrs["bin_ps"]
        assert trace.utilization["t_end_ps"] == h5["utilization"].attrs["t_end_ps"]
    for key, value in run.attrs.items():
        assert trace.attrs[key] == value


def test_summary_in_the_file_equals_the_printed_one(run: Run, trace: Trace) -> None:
    printed = {key: value for key, value in run.printed.items() if key != "trace"}
    assert run.printed["trace"] == str(run.path)
    assert trace.summary == printed


def test_metadata_and_config(trace: Trace) -> None:
    assert trace.metadata == {
        "schema_version": SCHEMA_VERSION,
        "archsim_version": archsim.__version__,
        "seed": 0,
        "arch": "edge_bus",
        "workload": "tiny_cnn",
        "input": "32x32",
        "batch": 1,
        "precision": "int8",
    }
    assert set(trace.config) == {"arch", "workload", "run"}
    assert trace.config["arch"]["mac_clusters"]["count"] == 16
    assert trace.latency_ps == trace.summary["latency_ps"] == trace.run_end_ps


# --- selections -----------------------------------------------------------------------------


def test_states_where_filters_by_kind_component_layer_state_and_window(trace: Trace) -> None:
    clusters = trace.component_ids("mac_cluster")
    assert len(clusters) == 16 and set(trace.components["kind"][clusters]) == {"mac_cluster"}
    rows = trace.states_where(kind="mac_cluster")
    assert set(rows["component"]) == set(clusters.tolist())
    np.testing.assert_array_equal(rows["t_start_ps"], trace.states_of("mac_cluster")["t_start_ps"])
    both = trace.states_where(kind=["sram_bank", "dram_channel"])
    kinds = set(trace.components["kind"][both["component"]])
    assert kinds == {"sram_bank", "dram_channel"}
    one = trace.states_where(component="chip.cluster3")
    assert set(one["component"]) == {trace.component_id("chip.cluster3")}
    stem = trace.states_where(layer="stem")
    assert set(stem["layer"]) == {trace.layer_index("stem")} == {0}
    for state in (State.STALL_DRAM, "stall_dram", int(State.STALL_DRAM)):
        assert set(trace.states_where(state=state)["state"]) == {State.STALL_DRAM}


def test_window_selects_overlapping_rows_and_clip_cuts_them(trace: Trace) -> None:
    window = (1_000_000, 2_000_000)
    rows = trace.states_where(kind="mac_cluster", window=window)
    assert np.all(rows["t_end_ps"] > window[0]) and np.all(rows["t_start_ps"] < window[1])
    clipped = trace.states_where(kind="mac_cluster", window=window, clip=True)
    total = (clipped["t_end_ps"] - clipped["t_start_ps"]).sum()
    assert total == 16 * (window[1] - window[0])  # clusters' states cover the whole run
    everything = trace.states_where(window=(0, trace.run_end_ps))
    assert len(everything["state"]) == len(trace.states["state"])
    with pytest.raises(ValueError, match="ends before it starts"):
        trace.states_where(window=(5, 1))


def test_transfers_layers_and_utilization_selections(trace: Trace) -> None:
    weights = trace.transfers_where(kind=TransferKind.WEIGHT_FETCH)
    assert len(weights["id"]) and set(weights["kind"]) == {TransferKind.WEIGHT_FETCH}
    assert len(trace.transfers_where(kind="weight_fetch")["id"]) == len(weights["id"])
    reads = trace.transfers_where(src_kind="dram_channel")
    assert reads["bytes"].sum() == trace.summary["dram_bytes_read"]
    writes = trace.transfers_where(dst_kind="dram_channel")
    assert writes["bytes"].sum() == trace.summary["dram_bytes_written"]
    assert set(trace.transfers_where(layer="fc")["layer"]) == {trace.layer_index("fc")}
    early = trace.transfers_where(window=(0, 100_000))
    assert np.all(early["t_request_ps"] < 100_000)
    convs = trace.layers_where(op="conv2d")
    expected = [layer.name for layer in load_workload(TINY_CNN).layers if layer.op == "conv2d"]
    assert convs["name"].tolist() == expected and len(expected) >= 4
    util = trace.utilization_where(kind="sram_bank", window=(0, trace.utilization["bin_ps"]))
    assert util["busy_fraction"].shape == (16, 1)
    np.testing.assert_array_equal(util["component"], trace.component_ids("sram_bank"))


def test_selection_errors_name_what_is_wrong(trace: Trace) -> None:
    with pytest.raises(ValueError, match="unknown component kind 'gpu'"):
        trace.states_where(kind="gpu")
    with pytest.raises(ValueError, match="unknown State 'sleeping'"):
        trace.states_where(state="sleeping")
    with pytest.raises(KeyError, match="no layer 'nope'"):
        trace.states_where(layer="nope")
    with pytest.raises(KeyError, match="no layer 7"):  # layer 7 (concat) is a view: no row
        trace.layer_index(7)
    with pytest.raises(KeyError, match="chip.nope"):
        trace.states_where(component="chip.nope")


# --- pandas ---------------------------------------------------------------------------------


def test_to_pandas_without_pandas_says_how_to_install_it(
    trace: Trace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        trace.to_pandas("states")


def test_to_pandas_builds_frames_with_names(trace: Trace, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda data, index=None, columns=None: {  # type: ignore[attr-defined]
        "data": data,
        "index": index,
        "columns": columns,
    }
    fake.Index = lambda values, name: (name, values)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    states = trace.to_pandas("states", kind="mac_cluster", state="busy")["data"]
    assert set(states["state"]) == {"BUSY"}
    assert set(states["component_name"]) == {f"chip.cluster{i}" for i in range(16)}
    transfers = trace.to_pandas("transfers", kind="operand_load")["data"]
    assert set(transfers["kind"]) == {"OPERAND_LOAD"} and "src_name" in transfers
    assert trace.to_pandas("components")["data"]["name"][0] == "chip"
    wide = trace.to_pandas("utilization", kind="dram_channel")
    assert wide["columns"].tolist() == ["chip.dram.ch0"] and wide["index"][0] == "t_start_ps"
    with pytest.raises(ValueError, match="unknown table"):
        trace.to_pandas("nope")
    with pytest.raises(TypeError, match="takes no filters"):
        trace.to_pandas("links", kind="link")


def test_to_pandas_with_real_pandas(trace: Trace) -> None:
    pandas = pytest.importorskip("pandas")
    frame = trace.to_pandas("layers")
    assert isinstance(frame, pandas.DataFrame) and len(frame) == len(trace.layers["index"])


# --- damaged files --------------------------------------------------------------------------


def test_a_bad_config_yaml_is_a_format_error(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    path.write_bytes(run.path.read_bytes())
    with h5py.File(path, "r+") as h5:
        h5.attrs["config_yaml"] = "arch: [unclosed"
    with pytest.raises(TraceFormatError, match="config_yaml attribute is not valid YAML"):
        _ = open_trace(path).config


@pytest.mark.parametrize("fraction", [0.0005, 0.002, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
def test_corrupt_bytes_give_a_format_error_or_a_readable_trace(
    run: Run, trace: Trace, tmp_path: Path, fraction: float
) -> None:
    data = bytearray(run.path.read_bytes())
    at = int(len(data) * fraction)
    data[at : at + 4096] = bytes((i * 37 + 11) % 256 for i in range(4096))
    path = tmp_path / "corrupt.h5"
    path.write_bytes(bytes(data))
    try:
        corrupt = open_trace(path)
    except TraceFormatError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
    else:  # the damage hit bytes the reader does not check (e.g. inside compressed data)
        assert len(corrupt.components["id"]) == len(trace.components["id"])
