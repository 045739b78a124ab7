"""2D mesh topology: where endpoints attach, links, and XY dimension-order routes.

Every endpoint (cluster, SRAM bank, DRAM port) has its own injection and ejection link
to its router; routers connect to their four neighbours with one link per direction.
A route is injection link, router-to-router links (X first, then Y), ejection link; its
hop count is the number of routers traversed (Manhattan distance + 1).
A multicast goes along a tree (``MeshTopology.tree``): the routes to its destinations
merged, each shared link taken once.
A torus (``TorusTopology``) adds one wraparound link per direction at the ends of every
row and column of at least 3 routers, numbered after all the mesh links (so the mesh links
keep their indices), and routes each dimension the shorter way round.
Pure data: no simulation objects, so the mapper can use it to plan static schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

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


@dataclass(frozen=True)
class Tree:
    """A multicast's links: the routes from one source to several destinations merged.

    Routes from one source are prefix-consistent (a link's position is its distance from
    the source), so their union is a tree: ``links`` ordered by depth (routers before the
    link), each with its parent (index into ``links``; -1 for the injection link) and, on
    a torus, its dateline mark. A route is a tree with one leaf.
    """

    links: tuple[int, ...]
    depths: tuple[int, ...]
    parents: tuple[int, ...]
    dateline: tuple[bool, ...]
    routes: tuple[Route, ...]  # per destination, in destination order

    @property
    def hops(self) -> int:
        """Links beyond the injection link: the routers a unicast traverses; each link
        carries the bytes once, so byte-hops are bytes x this."""
        return len(self.links) - 1

    @property
    def unicast_hops(self) -> int:
        """Hops of the routes to every destination, summed (sending to each separately)."""
        return sum(route.hops for route in self.routes)

    @property
    def depth(self) -> int:
        """Routers on the way to the farthest destination (its route's hops)."""
        return self.depths[-1]

    @property
    def levels(self) -> list[list[int]]:
        """Indices into ``links`` grouped by depth, from the injection link on."""
        levels: list[list[int]] = [[] for _ in range(self.depth + 1)]
        for index, depth in enumerate(self.depths):
            levels[depth].append(index)
        return levels

    @property
    def children(self) -> list[list[int]]:
        """Per link (index into ``links``), the links its far end feeds."""
        children: list[list[int]] = [[] for _ in self.links]
        for index, parent in enumerate(self.parents):
            if parent >= 0:
                children[parent].append(index)
        return children


def merge_routes(routes: tuple[Route, ...]) -> Tree:
    """The tree of routes that start at one injection link (ValueError if they disagree on
    a shared link's position, i.e. the routing is not prefix-consistent)."""
    depth_of: dict[int, int] = {}
    parent_of: dict[int, int] = {}
    mark_of: dict[int, bool] = {}
    for route in routes:
        for position, link in enumerate(route.links):
            parent = route.links[position - 1] if position else -1
            mark = route.dateline[position] if route.dateline else False
            if link in depth_of:
                if (depth_of[link], parent_of[link], mark_of[link]) != (position, parent, mark):
                    raise ValueError(f"link {link}: routes of one multicast disagree on it")
                continue
            depth_of[link], parent_of[link], mark_of[link] = position, parent, mark
    if len({route.links[0] for route in routes}) != 1:
        raise ValueError("the routes of one multicast start at different injection links")
    links = sorted(depth_of, key=lambda link: (depth_of[link], link))
    index = {link: i for i, link in enumerate(links)}
    return Tree(
        tuple(links),
        tuple(depth_of[link] for link in links),
        tuple(index[parent_of[link]] if parent_of[link] >= 0 else -1 for link in links),
        tuple(mark_of[link] for link in links) if routes[0].dateline else (),
        routes,
    )


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
        self.link_rank: list[int] = []  # per link (see ``_rank``)
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
        self._trees: dict[tuple[Endpoint, tuple[Endpoint, ...]], Tree] = {}
        self._footprints: dict[
            tuple[Endpoint, tuple[Endpoint, ...]], tuple[tuple[int, ...], tuple[int, ...]]
        ] = {}

    def _add_wraparound_links(self) -> None:
        """A mesh has none."""

    def _add_link(self, key: tuple[object, object], name: str) -> None:
        self._link_index[key] = len(self.link_names)
        self.link_names.append(name)
        self.link_rank.append(self._rank(key))

    def _rank(self, key: tuple[object, object]) -> int:
        """A rank that rises along every XY route: injection links, X links in their
        direction of travel, Y links likewise, ejection links. A packet that asks for links
        in rising (rank, link index), a strict order, only ever waits for a link above every
        link it holds, so no cycle of waiting packets can form (the reason XY routing is
        deadlock-free)."""
        cols, rows = self.cols, self.rows
        first, second = key
        if first == "inject":
            return 0
        if first == "eject":
            return cols + rows
        (x, y), (nx, ny) = cast(Coordinate, first), cast(Coordinate, second)  # router to router
        if ny == y:
            return 1 + (x if nx > x else cols - 1 - x)
        return cols + (y if ny > y else rows - 1 - y)

    def route(self, src: Endpoint, dst: Endpoint) -> Route:
        """The dimension-order route from src to dst (cached)."""
        key = (src, dst)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._plan_route(src, dst)
        return route

    def tree(self, src: Endpoint, destinations: tuple[Endpoint, ...]) -> Tree:
        """The multicast tree from src to every destination (cached)."""
        key = (src, destinations)
        tree = self._trees.get(key)
        if tree is None:
            routes = tuple(self.route(src, dst) for dst in destinations)
            tree = self._trees[key] = merge_routes(routes)
        return tree

    def footprint(
        self, src: Endpoint, destinations: tuple[Endpoint, ...]
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(links, depth of each) a transfer to ``destinations`` occupies: its route (link i
        at depth i) for one destination, its tree for several."""
        key = (src, destinations)
        footprint = self._footprints.get(key)
        if footprint is None:
            if len(destinations) == 1:
                links = self.route(src, destinations[0]).links
                footprint = links, tuple(range(len(links)))
            else:
                tree = self.tree(src, destinations)
                footprint = tree.links, tree.depths
            self._footprints[key] = footprint
        return footprint

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
