"""Tracing: the Recorder the simulator appends to, and HDF5 trace writing and reading.

The layout on disk is defined in `archsim.trace.schema` and documented in
docs/TRACE_SCHEMA.md.
"""

from archsim.domain import TransferKind
from archsim.trace.reader import Trace, TraceFormatError, open_trace
from archsim.trace.recorder import NullRecorder, Recorder, TraceData
from archsim.trace.schema import SCHEMA_VERSION
from archsim.trace.writer import TraceWriter, write_trace

__all__ = [
    "SCHEMA_VERSION",
    "NullRecorder",
    "Recorder",
    "Trace",
    "TraceData",
    "TraceFormatError",
    "TraceWriter",
    "TransferKind",
    "open_trace",
    "write_trace",
]
