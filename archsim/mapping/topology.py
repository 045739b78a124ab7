"""2D mesh topology: where endpoints attach, links, and XY dimension-order routes.

Every endpoint (cluster, SRAM bank, DRAM port) has its own injection and ejection link
to its router; routers connect to their four neighbours with one link per direction.
A route is injection link, router-to-router links (X first, then Y), ejection link; its
hop count is the number of routers traversed (Manhattan distance + 1).
A torus (``TorusTopology``) adds one wraparound link per direction at the ends of every
row and column of at least 3 routers, numbered after all the mesh links (so the mesh links
keep their indices), and routes each dimension the shorter way round.
Pure data: no simulation objects, so the mapper can use it to plan static schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.domain import EndpointKind, MeshShape
from archsim.mapping.program import Endpoint

Coordinate = tuple[int, int]


@dataclass(frozen=True)
class Route:
    """Links (by index) a transfer crosses, in order, and the routers it traverses."""

    links: tuple[int, ...]
    hops: int
    dateline: tuple[bool, ...] = ()
    """Per link, on a torus: the route has crossed the wraparound link of the dimension it
    is travelling in (that link included). Empty on a mesh: no link is past a dateline."""


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
        self._add_wraparound_links()
        self._routes: dict[tuple[Endpoint, Endpoint], Route] = {}

    def _add_wraparound_links(self) -> None:
        """A mesh has none."""

    def _add_link(self, key: tuple[object, object], name: str) -> None:
        self._link_index[key] = len(self.link_names)
        self.link_names.append(name)

    def route(self, src: Endpoint, dst: Endpoint) -> Route:
        """The dimension-order route from src to dst (cached)."""
        key = (src, dst)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._plan_route(src, dst)
        return route

    def _plan_route(self, src: Endpoint, dst: Endpoint) -> Route:
        """XY: X links first, then Y links."""
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
        return Route(tuple(links), hops=len(links) - 1)


class TorusTopology(MeshTopology):
    """A cols x rows torus: the mesh plus wraparound links, routed the shorter way round.

    Dimension order (X, then Y). In each dimension the route goes the way with fewer hops
    (ties: towards higher coordinates). The wraparound link of a ring is its dateline: the
    links from it to the end of that dimension are marked in ``Route.dateline``, so that
    packets before and after the dateline use different virtual channels.
    """

    def _add_wraparound_links(self) -> None:
        cols, rows = self.cols, self.rows
        if cols >= 3:
            for y in range(rows):
                self._add_link(((cols - 1, y), (0, y)), f"wrap({cols - 1},{y})->(0,{y})")
                self._add_link(((0, y), (cols - 1, y)), f"wrap(0,{y})->({cols - 1},{y})")
        if rows >= 3:
            for x in range(cols):
                self._add_link(((x, rows - 1), (x, 0)), f"wrap({x},{rows - 1})->({x},0)")
                self._add_link(((x, 0), (x, rows - 1)), f"wrap({x},0)->({x},{rows - 1})")

    def _plan_route(self, src: Endpoint, dst: Endpoint) -> Route:
        """X then Y, each the shorter way round, with the dateline marks."""
        (x, y), (tx, ty) = self.attach[src], self.attach[dst]
        links = [self._link_index[("inject", src)]]
        dateline = [False]
        for axis, size, target in ((0, self.cols, tx), (1, self.rows, ty)):
            here = (x, y)[axis]
            ahead = (target - here) % size
            step = 1 if ahead <= size - ahead else -1
            crossed = False
            while here != target:
                there = (here + step) % size
                a, b = ((here, y), (there, y)) if axis == 0 else ((x, here), (x, there))
                crossed = crossed or abs(there - here) != 1
                links.append(self._link_index[(a, b)])
                dateline.append(crossed)
                here = there
            if axis == 0:
                x = here
            else:
                y = here
        links.append(self._link_index[("eject", dst)])
        dateline.append(False)
        return Route(tuple(links), len(links) - 1, tuple(dateline))


def make_topology(
    shape: MeshShape,
    cols: int,
    rows: int,
    clusters: list[Coordinate],
    banks: list[Coordinate],
    dram_ports: list[Coordinate],
) -> MeshTopology:
    """A mesh or a torus of cols x rows routers with the endpoints attached."""
    cls = TorusTopology if shape is MeshShape.TORUS else MeshTopology
    return cls(cols, rows, clusters, banks, dram_ports)
