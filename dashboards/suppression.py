"""Small-number suppression that a table's own totals cannot undo.

An export writes a count from 1 to 4 as ``<5`` (primary suppression). On its own that is not
enough: with the other rows and the exact total, anyone can subtract (a ``<5`` beside rows of
27 and a Total of 28 is a 1), and two ``<5`` adding up to 2 are both 1. So more counts are
withheld, written ``x`` (complementary suppression), until every ``<5`` could still be any of
1, 2, 3 and 4 for all that the table says.

What a reader is assumed to know (and ``tests/dashboards/test_suppression.py`` checks against,
with a solver of its own):

- every figure that is written; ``<5`` is 1 to 4; an ``x`` among the rows is 5 or more (it is
  never put on 0 or on a small count); an ``x`` in the totals row may be any count;
- the table's ``Relation``s: a column's rows add up to its total (or, for a total that counts
  each doctor once however many OPDs they serve, to at least it); in a row, completed,
  cancelled and no-show visits are at most the bookings;
- nothing from the order of rows (``cells.Table.exported`` lists ranked tables by name).

How: a count that appears in two relations appears with opposite signs (a row's ``whole`` is
``-`` in its column, see ``column_total``), so the relations form a network: a node per
relation plus one outside node, an edge per count, and a change to the counts that keeps every
relation true is a circulation. A ``<5`` whose true value is v can be v + d exactly when a flow
of d can return around a cycle through its edge, within how far the other hidden counts may
move (their bounds); that is a maximum flow, found by augmenting paths. Where the room is short,
the path may run through written counts, which are then withheld: the cheapest first (a small
count before a large one, a total only when nothing else will do). Counts are integers and the
matrix is a network matrix, so flows (and so the values a reader can rule in) are whole numbers.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

SMALL_BELOW = 5
TOTAL = -1  # the row index of a table's totals row
UNBOUNDED = 10**12  # "no upper bound": far above any count
TOTAL_COST = 10**9  # withholding a total costs more than any set of cells

Coord = tuple[int, int]  # (row, column); row TOTAL for the totals row


class Mark(Enum):
    EXACT = "exact"
    SMALL = "<5"  # 1 to 4
    WITHHELD = "x"  # withheld so that no "<5" can be worked out


@dataclass(frozen=True)
class Relation:
    """``sum(sign * count) + slack * s == 0``, where ``s`` (when ``slack`` is +1 or -1) is a
    count the table does not show and a reader knows only to be 0 or more."""

    terms: tuple[tuple[Coord, int], ...]
    slack: int = 0


def column_total(column: int, rows: int, *, sign: int = 1, at_least: bool = False) -> Relation:
    """The ``rows`` counts of ``column`` add up to its total (``at_least``: to the total or
    more). ``sign=-1`` for a column whose counts are a ``whole`` in a ``within`` relation."""
    terms = (*(((row, column), sign) for row in range(rows)), ((TOTAL, column), -sign))
    return Relation(terms, slack=-sign if at_least else 0)


def within(whole: Coord, parts: Sequence[Coord]) -> Relation:
    """The counts ``parts`` add up to at most ``whole`` (e.g. outcomes among bookings)."""
    return Relation(((whole, 1), *((part, -1) for part in parts)), slack=-1)


def protect(
    counts: Mapping[Coord, int], relations: Iterable[Relation], *, known: Iterable[Coord] = ()
) -> dict[Coord, Mark]:
    """How to write each count so that no ``<5`` can be worked out from the others. ``known``
    counts are ones a reader has anyway (from another table): they are never withheld."""
    network = _Network(counts, relations, set(known))
    short = [edge for edge in network.edges if edge.mark is Mark.SMALL and edge.coord]
    for release_totals in (False, True):
        if release_totals:
            # A column whose total is itself below 5 can leave a "<5" with a single value
            # (four 1s and a "<5" total are all 1): only withholding that total helps.
            network.withhold_small_totals(near=short)
        short = [edge for edge in short if edge.mark is Mark.SMALL and not network.make_room(edge)]
        if not short:
            break
    return {
        coord: network.by_coord[coord].mark if coord in network.by_coord else _mark(value)
        for coord, value in counts.items()
    }


def _mark(value: int) -> Mark:
    return Mark.SMALL if 0 < value < SMALL_BELOW else Mark.EXACT


@dataclass
class _Edge:
    index: int
    tail: int
    head: int
    value: int
    coord: Coord | None  # None: the unseen count of a relation
    mark: Mark
    known: bool = False  # written elsewhere: withholding it here would hide nothing

    def __post_init__(self) -> None:
        self._update()

    @property
    def is_total(self) -> bool:
        return self.coord is not None and self.coord[0] == TOTAL

    def withhold(self) -> None:
        self.mark = Mark.WITHHELD
        self._update()

    def _update(self) -> None:
        # candidate: a written count that could be withheld; limits: what a reader knows of
        # it (for a candidate, once withheld); cost: what withholding it would cost.
        self.candidate = self.mark is Mark.EXACT and self.value >= SMALL_BELOW and not self.known
        mark = Mark.WITHHELD if self.candidate else self.mark
        if self.coord is None:
            self.limits = (0, UNBOUNDED)
        elif mark is Mark.SMALL:
            self.limits = (1, SMALL_BELOW - 1)
        elif mark is Mark.WITHHELD:
            self.limits = ((0 if self.is_total else SMALL_BELOW), UNBOUNDED)
        else:
            self.limits = (self.value, self.value)
        self.cost = (TOTAL_COST if self.is_total else 0) + self.value if self.candidate else 0


class _Network:
    OUTSIDE = 0

    def __init__(
        self, counts: Mapping[Coord, int], relations: Iterable[Relation], known: set[Coord]
    ) -> None:
        self.known = known
        ends: dict[Coord, list[tuple[int, int]]] = defaultdict(list)
        self.edges: list[_Edge] = []
        self.links: dict[int, list[tuple[_Edge, int]]] = defaultdict(list)
        node = 0
        for relation in relations:
            total = sum(sign * counts[coord] for coord, sign in relation.terms)
            unseen = -total * relation.slack if relation.slack else 0
            if unseen < 0 or (not relation.slack and total != 0):
                continue  # untrue of these figures: a reader can deduce nothing from it
            node += 1
            for coord, sign in relation.terms:
                ends[coord].append((node, sign))
            if relation.slack:
                self._add(node, relation.slack, unseen, None)
        self.by_coord: dict[Coord, _Edge] = {}
        for coord, signed in ends.items():
            if len(signed) > 2 or (len(signed) == 2 and signed[0][1] == signed[1][1]):
                raise ValueError(f"count {coord} is not in a network of relations: {signed}")
            edge = self._add(*signed[0], counts[coord], coord)
            if len(signed) == 2:  # the other end: where the opposite sign is
                other, sign = signed[1]
                if sign < 0:
                    edge.tail = other
                else:
                    edge.head = other
            self._link(edge)
            self.by_coord[coord] = edge

    def _add(self, node: int, sign: int, value: int, coord: Coord | None) -> _Edge:
        # +1: the count flows into the relation's node; -1: out of it.
        head, tail = (node, self.OUTSIDE) if sign > 0 else (self.OUTSIDE, node)
        edge = _Edge(len(self.edges), tail, head, value, coord, _mark(value), coord in self.known)
        self.edges.append(edge)
        if coord is None:  # a count's edge is linked once both of its ends are known
            self._link(edge)
        return edge

    def _link(self, edge: _Edge) -> None:
        if edge.mark is Mark.EXACT and not edge.candidate:
            return  # a written 0: never hidden, so it never moves
        self.links[edge.tail].append((edge, +1))
        self.links[edge.head].append((edge, -1))

    def withhold_small_totals(self, near: Iterable[_Edge]) -> None:
        """Withhold the "<5" totals of the relations the ``near`` counts are in."""
        nodes = {node for edge in near for node in (edge.tail, edge.head)} - {self.OUTSIDE}
        for edge in self.edges:
            small_total = edge.is_total and edge.mark is Mark.SMALL and not edge.known
            if small_total and {edge.tail, edge.head} & nodes:
                edge.withhold()

    def make_room(self, small: _Edge) -> bool:
        """Whether ``small`` can be each of 1 to 4, withholding what it takes; where that is
        impossible, as many values as its neighbours allow."""
        if small.tail == small.head:
            return True
        up = SMALL_BELOW - 1 - small.value
        down = small.value - 1
        # Up by d: d flows along the edge, so d must come back from its head to its tail.
        return self._room(small, small.head, small.tail, up) >= up and (
            self._room(small, small.tail, small.head, down) >= down
        )

    def _room(self, small: _Edge, source: int, sink: int, need: int) -> int:
        flow: dict[int, int] = defaultdict(int)
        found = 0
        # No more can flow than the edges at either end let through (e.g. a row whose
        # bookings are themselves "<5"): ask for no more, so that a search that cannot
        # succeed does not run through the whole table several times.
        need = min(
            need,
            self._through(small, source, flow, leaving=True),
            self._through(small, sink, flow, leaving=False),
        )
        while found < need:
            # One withheld count with room for all that is needed reveals less than several
            # smaller ones: look for such a path first.
            path = self._cheapest_path(small, source, sink, flow, need - found)
            if path is None and need - found > 1:
                path = self._cheapest_path(small, source, sink, flow, 1)
            if path is None:
                break
            step = min(need - found, *(self._residual(e, way, flow) for e, way in path))
            for edge, way in path:
                flow[edge.index] += way * step
                if edge.candidate:
                    edge.withhold()
            found += step
        return found

    def _through(self, small: _Edge, node: int, flow: Mapping[int, int], *, leaving: bool) -> int:
        """How much more could leave (or reach) ``node`` by its edges other than ``small``."""
        return sum(
            self._residual(edge, way if leaving else -way, flow)
            for edge, way in self.links[node]
            if edge is not small
        )

    @staticmethod
    def _residual(edge: _Edge, way: int, flow: Mapping[int, int]) -> int:
        low, high = edge.limits
        now = edge.value + flow.get(edge.index, 0)
        return high - now if way > 0 else now - low

    def _cheapest_path(
        self, small: _Edge, source: int, sink: int, flow: Mapping[int, int], room: int
    ) -> list[tuple[_Edge, int]] | None:
        """Dijkstra over edges with at least ``room`` left; withheld and unseen counts cost
        nothing, a written one what withholding it would cost."""
        best = {source: 0}
        came: dict[int, tuple[int, _Edge, int]] = {}
        queue = [(0, source)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == sink:
                break
            if cost > best[node]:
                continue
            for edge, way in self.links[node]:
                if edge is small or self._residual(edge, way, flow) < room:
                    continue
                nxt = edge.head if way > 0 else edge.tail
                total = cost + edge.cost
                if total < best.get(nxt, total + 1):
                    best[nxt] = total
                    came[nxt] = (node, edge, way)
                    if nxt == sink and total == cost:
                        queue = []  # nothing left in the queue can be cheaper
                        break
                    heapq.heappush(queue, (total, nxt))
        if sink not in came:
            return None
        path = []
        node = sink
        while node != source:
            previous, edge, way = came[node]
            path.append((edge, way))
            node = previous
        return path
