"""Domain vocabulary shared by every package: precisions, dataflows, interconnect kinds,
stall causes and component kinds. Values are the words used in YAML, traces and summaries."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Precision(StrEnum):
    """Numeric precision of weights and activations."""

    INT8 = "int8"
    INT16 = "int16"
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"

    @property
    def bytes(self) -> int:
        """Bytes per element."""
        return _PRECISION_BYTES[self]


_PRECISION_BYTES = {
    Precision.INT8: 1,
    Precision.INT16: 2,
    Precision.BF16: 2,
    Precision.FP16: 2,
    Precision.FP32: 4,
}


class Dataflow(StrEnum):
    """Systolic-array dataflow (what stays in the processing elements)."""

    WS = "ws"  # weight stationary
    OS = "os"  # output stationary
    IS = "is"  # input stationary


class InterconnectKind(StrEnum):
    """How clusters, SRAM banks and DRAM ports are connected."""

    BUS = "bus"
    CROSSBAR = "crossbar"
    MESH = "mesh"
    DETERMINISTIC = "deterministic"


class MeshShape(StrEnum):
    """How the routers of a mesh interconnect are linked."""

    MESH = "mesh"  # neighbours only
    TORUS = "torus"  # neighbours plus a wraparound link at the ends of every row and column


class NocScheduleMode(StrEnum):
    """How a deterministic NoC's static schedule is built before time 0."""

    TIME_TRIGGERED = "time_triggered"  # every packet gets planned windows on its route's links
    PER_LAYER_SHARE = "per_layer_share"  # one demand-proportional slot table per layer epoch


class DramPlanMode(StrEnum):
    """How the time-triggered schedule's planning pass models DRAM."""

    EXACT = "exact"  # the run's own DRAM model: refresh at the run's phase, bank state
    AVERAGE = "average"  # no refresh events, the data rate derated by refresh's average cost


class Arbitration(StrEnum):
    """Who gets a shared bus next when several requesters wait."""

    FIFO = "fifo"  # first come, first served
    ROUND_ROBIN = "round_robin"  # requesters (source endpoints) take turns
    FIXED_PRIORITY = "fixed_priority"  # lowest requester first (clusters, banks, DRAM)


class ComponentKind(StrEnum):
    """Kinds of simulated components, as stored in the trace's components table."""

    CHIP = "chip"
    MAC_CLUSTER = "mac_cluster"
    SRAM_BANK = "sram_bank"
    DRAM_CHANNEL = "dram_channel"
    INTERCONNECT = "interconnect"
    LINK = "link"


class State(IntEnum):
    """State of a component over an interval (trace enum; values are stable on disk).

    BUSY means useful work; the stall states name the cause that kept a MAC cluster from
    working; IDLE means it had no work left (or not yet) in the program.
    """

    BUSY = 0
    STALL_DRAM = 1
    STALL_INTERCONNECT = 2
    STALL_SRAM = 3
    STALL_DEPENDENCY = 4
    STALL_BACKPRESSURE = 5
    IDLE = 6


class StallCause(StrEnum):
    """Why a MAC cluster was not computing (fixed vocabulary of traces and summaries)."""

    DRAM = "dram"
    INTERCONNECT = "interconnect"
    SRAM = "sram"
    DEPENDENCY = "dependency"
    BACKPRESSURE = "backpressure"
    IDLE = "idle"

    @property
    def state(self) -> State:
        """The trace state that records this cause."""
        return _CAUSE_STATE[self]


_CAUSE_STATE = {
    StallCause.DRAM: State.STALL_DRAM,
    StallCause.INTERCONNECT: State.STALL_INTERCONNECT,
    StallCause.SRAM: State.STALL_SRAM,
    StallCause.DEPENDENCY: State.STALL_DEPENDENCY,
    StallCause.BACKPRESSURE: State.STALL_BACKPRESSURE,
    StallCause.IDLE: State.IDLE,
}


class TransferKind(IntEnum):
    """Why bytes move (trace enum; values are stable on disk)."""

    WEIGHT_FETCH = 0  # DRAM -> SRAM, weights
    INPUT_FETCH = 1  # DRAM -> SRAM, activations (network input or spilled tensors)
    OPERAND_LOAD = 2  # SRAM -> MAC cluster
    RESULT_STORE = 3  # MAC cluster -> SRAM
    SPILL = 4  # SRAM -> DRAM, an activation that does not stay in SRAM
    OUTPUT_WRITE = 5  # SRAM -> DRAM, a network output


class ReservationStatus(IntEnum):
    """What became of a link reservation of the time-triggered NoC (trace enum; stable)."""

    USED = 0  # planned before time 0 and used by its packet
    UNUSED = 1  # planned, but its packet came late (or its frame was dropped)
    REBOOKED = 2  # booked at run time in the plan's gaps (a late or unplanned packet)


class EndpointKind(IntEnum):
    """What sits at one end of a transfer."""

    CLUSTER = 0
    BANK = 1
    DRAM = 2


class ScenarioKind(StrEnum):
    """How frames arrive at the accelerator (MLPerf inference scenarios plus a sensor stream)."""

    SINGLE_STREAM = "single-stream"  # one frame at a time, the next when the last is done
    STREAM = "stream"  # a sensor at a fixed frame rate, with optional jitter
    MULTI_STREAM = "multi-stream"  # N sensors in lock-step: N frames every interval
    SERVER = "server"  # Poisson arrivals at a mean rate
    OFFLINE = "offline"  # every frame available at time 0
