"""archsim report: exclusive layer attribution, stall totals, tables, plots, HTML, errors."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import invoke_trace_command, tiny_trace
from matplotlib.image import imread

import archsim
from archsim.analysis.plots import FIGURES, png_bytes, roofline_figure
from archsim.analysis.report import CAUSES, build_report, format_report, roofs_from_config
from archsim.analysis.report_output import HTML_NAME, TEXT_NAME, write_report
from archsim.analysis.timeline import GAP, attribute_layers, bin_edges, spread_over_bins
from archsim.trace import Recorder, Trace, open_trace, write_trace

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


invoke = invoke_trace_command


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    return tiny_trace(tmp_path_factory.mktemp("report"), "edge_bus")


@pytest.fixture(scope="module")
def resnet(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    path = tmp_path_factory.mktemp("report") / "resnet50.h5"
    archsim.simulate(
        ROOT / "arch/edge_mesh.yaml", ROOT / "workloads/resnet50.yaml", trace_path=path
    )
    return open_trace(path)


# --- exclusive attribution ------------------------------------------------------------------


def test_each_instant_goes_to_the_earliest_started_active_layer() -> None:
    # rows: A [10, 30), B [20, 50), C [15, 40), D empty; latency 100
    got = attribute_layers(np.array([10, 20, 15, 60]), np.array([30, 50, 40, 60]), 100)
    assert got.start_ps.tolist() == [0, 10, 30, 40, 50]
    assert got.end_ps.tolist() == [10, 30, 40, 50, 100]
    assert got.owner.tolist() == [GAP, 0, 2, 1, GAP]
    assert got.layer_ps.tolist() == [20, 10, 10, 0]
    assert got.gap_ps == 60 and got.gaps == 2


def test_attribution_ties_edges_and_empty_inputs() -> None:
    tie = attribute_layers(np.array([0, 0]), np.array([10, 5]), 10)  # same start: first row
    assert tie.layer_ps.tolist() == [10, 0] and tie.gap_ps == 0
    beyond = attribute_layers(np.array([-5, 5]), np.array([5, 50]), 20)  # clipped to [0, 20)
    assert beyond.layer_ps.tolist() == [5, 15]
    none = attribute_layers(np.zeros(0, np.int64), np.zeros(0, np.int64), 7)
    assert none.gap_ps == 7 and none.owner.tolist() == [GAP]
    assert attribute_layers(np.array([0]), np.array([0]), 0).layer_ps.tolist() == [0]


def test_spread_over_bins_preserves_totals() -> None:
    edges = bin_edges(100, 4)
    assert edges.tolist() == [0, 25, 50, 75, 100]
    spread = spread_over_bins(
        np.array([0, 10, 90]), np.array([50, 10, 100]), np.array([50, 7, 10]), edges
    )
    np.testing.assert_allclose(spread, [32, 25, 0, 10])
    assert bin_edges(0, 4).tolist() == [0]


@pytest.mark.parametrize("name", ["tiny", "resnet"])
def test_layer_times_and_the_gap_row_sum_to_the_latency(
    name: str, request: pytest.FixtureRequest
) -> None:
    trace: Trace = request.getfixturevalue(name)
    built = build_report(trace)
    assert built.latency_ps == trace.summary["latency_ps"]
    assert sum(row.time_ps for row in built.layers) + built.attribution.gap_ps == built.latency_ps
    assert all(0 <= row.time_ps <= row.span_ps for row in built.layers)
    spans = sum(row.span_ps for row in built.layers)
    if name == "resnet":  # branches overlap: spans add up to more than the attributed time
        assert spans > built.latency_ps - built.attribution.gap_ps


@pytest.mark.parametrize("name", ["tiny", "resnet"])
def test_per_cause_stalls_sum_to_the_summary(name: str, request: pytest.FixtureRequest) -> None:
    trace: Trace = request.getfixturevalue(name)
    totals = build_report(trace).stall_totals()
    assert (
        set(totals) == set(CAUSES) == {"dram", "interconnect", "sram", "dependency", "backpressure"}
    )
    for cause in CAUSES:
        assert totals[cause] == trace.summary["stall_ps"][cause], cause


# --- text -----------------------------------------------------------------------------------


def test_text_report_has_summary_layers_and_utilization(tiny: Trace) -> None:
    text = format_report(build_report(tiny))
    assert text.startswith("tiny_cnn on edge_bus")
    for heading in ("Layers (times in µs)", "Utilization by component class", "MAC clusters (% of"):
        assert heading in text
    total = next(line for line in text.splitlines() if line.strip().startswith("total"))
    assert f"{tiny.latency_ps / 1e6:.3f}" in total and "100.0" in total
    assert re.search(r"\(no layer active: \d+ gaps\)", text)
    stall_row = [f"{tiny.summary['stall_ps'][cause] / 1e6:.3f}" for cause in CAUSES]
    assert total.split()[-5:] == stall_row


# --- plots and files ------------------------------------------------------------------------


def test_every_plot_of_resnet50_renders_to_a_png(resnet: Trace, tmp_path: Path) -> None:
    built = build_report(resnet)
    written = write_report(built, tmp_path / "out")
    assert [path.name for path in written] == [TEXT_NAME, *(f"{stem}.png" for stem in FIGURES)]
    for path in written[1:]:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        height, width, _ = imread(path).shape
        assert width >= 800 and height >= 300, path.name
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_html_is_one_self_contained_page(tiny: Trace, tmp_path: Path) -> None:
    written = write_report(build_report(tiny), tmp_path, as_html=True)
    assert [path.name for path in written] == [TEXT_NAME, HTML_NAME]
    page = written[1].read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(FIGURES)
    assert all(base64.b64decode(image).startswith(PNG_SIGNATURE) for image in images)
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing fetched from elsewhere
    assert page.count("<table>") == 6 and "<tfoot>" in page


def test_roofline_without_a_usable_config_still_plots(tiny: Trace, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no 'arch' entry"):
        roofs_from_config({"run": {"precision": "int8"}})
    path = tmp_path / "noconfig.h5"
    path.write_bytes(tiny.path.read_bytes())
    with h5py.File(path, "r+") as h5:
        del h5.attrs["config_yaml"]
    built = build_report(open_trace(path))
    assert built.roofs is None and "no 'arch' entry" in built.roofs_problem
    assert png_bytes(roofline_figure(built)).startswith(PNG_SIGNATURE)
    assert "roofline: not available" in format_report(built)


# --- command --------------------------------------------------------------------------------


def test_report_command_prints_and_writes_next_to_the_trace(tiny: Trace) -> None:
    result = invoke("report", tiny.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("tiny_cnn on edge_bus")
    folder = tiny.path.with_name(f"{tiny.path.stem}-report")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [TEXT_NAME, *(f"{stem}.png" for stem in FIGURES)]
    )
    for stem in FIGURES:
        assert (folder / f"{stem}.png").read_bytes().startswith(PNG_SIGNATURE)
    assert f"wrote {folder / TEXT_NAME}" in result.stdout


def test_report_command_html_and_text_only(tiny: Trace, tmp_path: Path) -> None:
    result = invoke("report", tiny.path, "--html", "--no-plots", "--out-dir", tmp_path / "html")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == [HTML_NAME, TEXT_NAME]
    result = invoke("report", tiny.path, "--no-plots", "--top", "2", "--out-dir", tmp_path / "txt")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "txt").iterdir()] == [TEXT_NAME]
    assert "SRAM banks (busy %, the 2 busiest of 16)" in result.stdout


def test_report_command_reports_bad_input_and_output(tiny: Trace, tmp_path: Path) -> None:
    missing = invoke("report", tmp_path / "missing.h5")
    assert missing.exit_code == 2 and "cannot read trace file" in missing.stderr
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    assert "not an HDF5 file" in invoke("report", text).stderr
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(tiny.path.read_bytes()[:20_000])
    result = invoke("report", truncated)
    assert result.exit_code == 2 and "corrupt or truncated" in result.stderr
    assert "Traceback" not in result.output
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("report", tiny.path, "--no-plots", "--out-dir", blocker / "sub")
    assert result.exit_code == 2 and "cannot write the report" in result.stderr


def test_an_empty_trace_still_reports(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "empty.h5", Recorder().data(), {})
    built = build_report(open_trace(path))
    assert built.latency_ps == 0 and built.layers == []
    assert "summary incomplete" in format_report(built)
    written = write_report(built, tmp_path / "out", as_html=True)
    assert [p.name for p in written] == [TEXT_NAME, HTML_NAME]
