"""2D mesh topology: where endpoints attach, links, and XY dimension-order routes.

Every endpoint (cluster, SRAM bank, DRAM port) has its own injection and ejection link
to its router; routers connect to their four neighbours with one link per direction.
A route is injection link, router-to-router links (X first, then Y), ejection link; its
hop count is the number of routers traversed (Manhattan distance + 1).
Pure data: no simulation objects, so the mapper can use it to plan static schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.domain import EndpointKind
from archsim.mapping.program import Endpoint

Coordinate = tuple[int, int]


@dataclass(frozen=True)
class Route:
    """Links (by index) a transfer crosses, in order, and the routers it traverses."""

    links: tuple[int, ...]
    hops: int


class MeshTopology:
    """A cols x rows mesh with endpoints attached at given router coordinates."""

    def __init__(
        self,
        cols: int,
        rows: int,
        clusters: list[Coordinate],
        banks: list[Coordinate],
        dram_ports: list[Coordinate],
    ) -> None:
        self.cols = cols
        self.rows = rows
        self.attach: dict[Endpoint, Coordinate] = {}
        for kind, coords in (
            (EndpointKind.CLUSTER, clusters),
            (EndpointKind.BANK, banks),
            (EndpointKind.DRAM, dram_ports),
        ):
            for index, xy in enumerate(coords):
                self.attach[Endpoint(kind, index)] = (int(xy[0]), int(xy[1]))
        self.link_names: list[str] = []
        self._link_index: dict[tuple[object, object], int] = {}
        for endpoint, xy in self.attach.items():
            self._add_link(("inject", endpoint), f"inject.{endpoint}({xy[0]},{xy[1]})")
            self._add_link(("eject", endpoint), f"eject.{endpoint}({xy[0]},{xy[1]})")
        for y in range(rows):
            for x in range(cols):
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if 0 <= nx < cols and 0 <= ny < rows:
                        self._add_link(((x, y), (nx, ny)), f"link({x},{y})->({nx},{ny})")
        self._routes: dict[tuple[Endpoint, Endpoint], Route] = {}

    def _add_link(self, key: tuple[object, object], name: str) -> None:
        self._link_index[key] = len(self.link_names)
        self.link_names.append(name)

    def route(self, src: Endpoint, dst: Endpoint) -> Route:
        """The XY route from src to dst (cached)."""
        key = (src, dst)
        cached = self._routes.get(key)
        if cached is not None:
            return cached
        (x, y), (tx, ty) = self.attach[src], self.attach[dst]
        links = [self._link_index[("inject", src)]]
        while x != tx:
            nx = x + (1 if tx > x else -1)
            links.append(self._link_index[((x, y), (nx, y))])
            x = nx
        while y != ty:
            ny = y + (1 if ty > y else -1)
            links.append(self._link_index[((x, y), (x, ny))])
            y = ny
        links.append(self._link_index[("eject", dst)])
        route = Route(tuple(links), hops=len(links) - 1)
        self._routes[key] = route
        return route
