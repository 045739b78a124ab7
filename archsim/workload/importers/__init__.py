"""Importers of users' own models: ONNX and SCALE-Sim topologies -> workload configs.

``import_onnx`` and ``import_scalesim_csv`` return a validated ``WorkloadConfig``;
``export_yaml`` / ``write_workload_yaml`` turn one into workload YAML text or a file;
``load_any_workload`` picks YAML, ONNX or SCALE-Sim by the file's extension. The onnx
package is imported only when an ONNX file is read.
"""

from archsim.workload.importers.dispatch import (
    FORMAT_BY_SUFFIX,
    ModelFormat,
    import_model,
    load_any_workload,
    model_format,
)
from archsim.workload.importers.onnx_import import import_onnx
from archsim.workload.importers.scalesim import Layout, import_scalesim_csv
from archsim.workload.importers.yaml_export import export_yaml, write_workload_yaml

__all__ = [
    "FORMAT_BY_SUFFIX",
    "Layout",
    "ModelFormat",
    "export_yaml",
    "import_model",
    "import_onnx",
    "import_scalesim_csv",
    "load_any_workload",
    "model_format",
    "write_workload_yaml",
]
