"""The groups a person reviews, with the copy to keep and why: one entry point for CLI and UI.

Four tiers, each stricter tier collapsed before the next so no file is offered
twice and nothing hides behind a chain:

- identical: byte-identical files (`identical.find_identical`);
- duplicate: the same picture (re-encoded, resized, cropped, turned, greyscale...):
  a cosine of at least DUPLICATE_GATE, a structural score at or above the
  threshold, and proof from the finer check (core/proof.py SAME_PICTURE); of each
  identical group only the keeper takes part;
- burst: near-identical shots (burst frames, bracketed exposures, a re-take
  moments apart: core/proof.py SAME_MOMENT), distinct pictures whose keeper is the
  best shot (core/shot.py); of each identical or duplicate group only the keeper
  takes part;
- similar: the same scene or subject: a cosine of at least scene.GATE and a scene
  score (core/scene.py: similarity for this library) at or above the threshold; of each
  identical or duplicate group (at the settings' duplicate threshold) only the
  keeper takes part, so a similar group shows distinct pictures.

The k-NN graph (with its structural scores) is cached by `graph.open_graph`, so a
new threshold only regroups.

The review model both views use: `view_groups` is what a view lists (the app's
tabs, `lookalike duplicates` and `similar`), `all_but_keepers` what "mark all but
keepers" takes (different shots only when asked), `ReviewGroup.reclaimable` what
removing copies frees; keepers honour a person's remembered "keep this one"
(core/decisions.py) before the keep rules.
"""

from __future__ import annotations

import heapq
import threading
import weakref
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings, load_settings
from lookalike.core.review.decisions import KeeperChoices, excluded_pairs, keeper_choices
from lookalike.core.engines.index import id_positions, id_table
from lookalike.core.matching.graph import BURST_STRUCTURE, FLOOR, KnnGraph, open_graph
from lookalike.core.matching.grouping import Group, star_groups
from lookalike.core.matching.identical import find_identical
from lookalike.core.review.keeprules import FACTS, Evidence, FileLike, choose_keeper, facts, human_bytes
from lookalike.core.matching.proof import Verdict
from lookalike.core.catalog.schema import File
from lookalike.core.review.shot import best_shot

Kind = Literal["identical", "duplicate", "burst", "similar"]
KINDS: tuple[str, ...] = get_args(Kind)
#: Tiers whose groups hold copies of one picture: removing all but the keeper frees
#: space and loses no shot. Every other tier (similar, and shots of one burst) holds
#: different shots: nothing there is "could free", and selecting in bulk needs a choice.
COPY_KINDS: tuple[str, ...] = ("identical", "duplicate")
OTHER_SHOTS: tuple[str, ...] = tuple(kind for kind in KINDS if kind not in COPY_KINDS)
#: What a review view lists (the app's tabs, the CLI's `duplicates`, `bursts` and `similar`).
View = Literal["duplicate", "burst", "similar"]
VIEWS: tuple[str, ...] = get_args(View)


@dataclass(frozen=True, slots=True)
class ReviewMember:
    """One file of a group: its similarity to the representative and the keep verdict."""

    file: File
    similarity: float
    keep: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ReviewGroup:
    """A representative and its members (representative first, then most similar first)."""

    kind: str
    representative_id: int
    members: list[ReviewMember]

    @property
    def copies(self) -> bool:
        """Whether the members are copies of one picture (not different shots)."""
        return self.kind in COPY_KINDS

    @property
    def not_kept_bytes(self) -> int:
        """Size of every member but the keeper."""
        return sum(m.file.size for m in self.members if not m.keep)

    @property
    def reclaimable(self) -> int:
        """Bytes freed by removing every copy but the keeper; 0 for different shots,
        whose removal loses pictures rather than freeing space taken by copies."""
        return self.not_kept_bytes if self.copies else 0


class DifferentShots(ValueError):
    """A bulk selection would take different shots, not copies, and nobody said it may."""


@dataclass(frozen=True, slots=True)
class Selection:
    """What "mark all but keepers" selects, and the words for asking or telling about it."""

    file_ids: list[int]
    size: int  # bytes of the selected files
    different_shots: bool  # the selection holds shots that are not copies of a kept one
    description: str


def check_threshold(threshold: float) -> float:
    """The threshold unchanged, or ValueError when it is not in (0, 1]."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be greater than 0 and at most 1 (got {threshold})")
    return threshold


def find_groups(
    catalog: Catalog,
    model_id: str,
    kind: Kind,
    threshold: float | None = None,
    settings: Settings | None = None,
) -> list[ReviewGroup]:
    """Groups of `kind`, most reclaimable bytes first, each with its keeper and reasons.

    `threshold` defaults to the settings' one for the kind (ignored for identical;
    the structural score for bursts, BURST_STRUCTURE by default); the settings also
    give the keep rules, preferred folders and, for the burst and similar tiers,
    the duplicate threshold whose groups are collapsed first.
    """
    return find_pages(catalog, model_id, kind, threshold, settings).all()


def find_pages(
    catalog: Catalog,
    model_id: str,
    kind: Kind,
    threshold: float | None = None,
    settings: Settings | None = None,
) -> GroupPages:
    """`find_groups` as pages: the groups found, keepers chosen only for the pages asked."""
    if kind not in KINDS:
        raise ValueError(f"unknown group kind {kind!r}; expected one of {', '.join(KINDS)}")
    settings = settings or load_settings()
    if kind == "identical":
        groups = _identical(catalog)
    else:
        threshold = check_threshold(default_threshold(kind, settings) if threshold is None else threshold)
        same_bytes, graph = _identical_and_graph(catalog, model_id)
        groups = _grouped(catalog, graph, kind, threshold, settings, same_bytes)
    return GroupPages(catalog, settings, _candidates(catalog, kind, groups))


def default_threshold(kind: str, settings: Settings) -> float:
    """The threshold a tier groups at unless a person moves it: the settings' for duplicates
    and similar photos, BURST_STRUCTURE (a structural score) for bursts."""
    return {"duplicate": settings.duplicate_threshold, "burst": BURST_STRUCTURE}.get(kind, settings.similar_threshold)


def view_groups(
    catalog: Catalog, model_id: str, view: View, threshold: float | None = None, settings: Settings | None = None
) -> list[ReviewGroup]:
    """The groups a review view lists: one notion of a group for the app's tabs and the CLI.

    Duplicates: one group per picture, its byte-identical copies inside
    (`picture_groups`), so marking all but the keepers never removes a file another
    group keeps. Bursts and similar: groups of different shots (`find_groups`).
    """
    return view_pages(catalog, model_id, view, threshold, settings).all()


def view_pages(
    catalog: Catalog, model_id: str, view: View, threshold: float | None = None, settings: Settings | None = None
) -> GroupPages:
    """`view_groups` as pages, in the same order: what the app's lists and `lookalike
    duplicates` show first without choosing every group's keeper."""
    if view == "duplicate":
        return picture_pages(catalog, model_id, threshold, settings)
    if view in VIEWS:
        return find_pages(catalog, model_id, view, threshold, settings)
    raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")


def all_but_keepers(groups: Sequence[ReviewGroup], different_shots: bool = False) -> Selection:
    """Every member but the keepers, for "mark all but keepers" and `lookalike dedupe`.

    Groups of different shots (similar, burst) are taken only with `different_shots`
    (the person said so); otherwise DifferentShots says what the selection would
    hold. A file in two groups is taken once, and never when one of them keeps it.
    """
    kept = {m.file.id for g in groups for m in g.members if m.keep}
    chosen: dict[int, int] = {}
    for group in groups:
        chosen.update((m.file.id, m.file.size) for m in group.members if not m.keep and m.file.id not in kept)
    shots = bool(shots_among(groups, chosen))
    count, size = len(chosen), sum(chosen.values())
    photos = f"{count} photo{'' if count == 1 else 's'} ({human_bytes(size)})"
    if shots:
        description = (
            f"{photos}: these are different shots, not copies: each group keeps only the one its keep "
            "rules chose and the other shots would be lost"
        )
        if not different_shots:
            raise DifferentShots(description)
    else:
        description = f"{photos}: copies of a picture that stays in its kept copy"
    return Selection(list(chosen), size, shots, description)


def shots_among(groups: Iterable[ReviewGroup], file_ids: Collection[int]) -> set[int]:
    """Of `file_ids`, those whose removal loses a shot: members of a group of different
    shots that are not a spare copy in a group of copies (whose picture stays)."""
    groups = list(groups)
    spare = {m.file.id for g in groups if g.copies for m in g.members if not m.keep}
    return {m.file.id for g in groups if not g.copies for m in g.members if m.file.id in file_ids} - spare


def chosen_group(catalog: Catalog, model_id: str, file_ids: Sequence[int], settings: Settings | None = None) -> ReviewGroup:
    """Photos a person picked (a selection on the map) as one group of different shots, to
    compare side by side: the most central photo represents it, the others follow by cosine
    to it, and the keep rules propose a keeper as for similar photos.

    Raises ValueError for fewer than two photos with vectors.
    """
    settings = settings or load_settings()
    files = catalog.files(list(file_ids))
    ids = [i for i in dict.fromkeys(file_ids) if i in files]
    if len(ids) < 2:
        raise ValueError("pick at least two catalogued photos to compare")
    vectors = catalog.vectors_of(model_id, ids)
    cosines = vectors @ vectors.T
    representative = ids[int(np.argmax(cosines.sum(axis=1)))]
    similarity = dict(zip(ids, cosines[ids.index(representative)].tolist()))
    similarity[representative] = 1.0
    order = sorted(ids, key=lambda i: (i != representative, -similarity[i]))
    return _review(catalog, "similar", [Group(tuple(order), tuple(similarity[i] for i in order))], settings)[0]


def picture_groups(
    catalog: Catalog, model_id: str, threshold: float | None = None, settings: Settings | None = None
) -> list[ReviewGroup]:
    """One group per picture, for removing extras: each duplicate group holds the
    byte-identical copies of its members too, its keeper chosen over all of them.

    The duplicate tier sees one copy of identical bytes only, so planning the two
    tiers apart would keep a file in one group that the other removes. Identical
    groups with no duplicate stay as they are.
    """
    return picture_pages(catalog, model_id, threshold, settings).all()


def picture_pages(
    catalog: Catalog, model_id: str, threshold: float | None = None, settings: Settings | None = None
) -> GroupPages:
    """`picture_groups` as pages. The identical groups are reviewed in full (their keepers
    already decide which copies the duplicate tier sees); the duplicate groups, with the
    copies that join them, get their keepers only when a page asks for them."""
    settings = settings or load_settings()
    same_bytes, graph = _identical_and_graph(catalog, model_id)
    identical = _review(catalog, "identical", same_bytes, settings)
    threshold = check_threshold(settings.duplicate_threshold if threshold is None else threshold)
    duplicates = _candidates(catalog, "duplicate", _grouped(catalog, graph, "duplicate", threshold, settings, same_bytes))
    home = duplicates.homes()
    joining: dict[int, list[ReviewMember]] = {}
    alone = []
    for group in identical:
        n = next((home[m.file.id] for m in group.members if m.file.id in home), None)
        if n is None:
            alone.append(group)
        else:
            joining.setdefault(n, []).extend(m for m in group.members if m.file.id not in home)
    for n, copies in joining.items():
        duplicates.join(n, tuple(copies))
    return GroupPages(catalog, settings, duplicates, alone)


def _with_copies(group: ReviewGroup, copies: list[ReviewMember], settings: Settings, keeping: _Keeping) -> ReviewGroup:
    """`group` with identical `copies` of its members added, keeper and reasons over all of them."""
    similarity = {m.file.full_hash: m.similarity for m in group.members}
    everyone = [(m.file, m.similarity) for m in group.members]
    everyone += [(m.file, similarity.get(m.file.full_hash, m.similarity)) for m in copies]
    keeper, reasons = _keeper([f for f, _ in everyone], settings, keeping)
    members = [ReviewMember(f, s, f.id == keeper, reasons[f.id]) for f, s in everyone]
    return ReviewGroup(group.kind, group.representative_id, _representative_first(members, group.representative_id))


def _representative_first(members: list[ReviewMember], representative: int) -> list[ReviewMember]:
    """The order a group is shown in: its representative, then the most similar first."""
    return sorted(members, key=lambda m: (m.file.id != representative, -m.similarity, m.file.path))


def _most_reclaimable_first(groups: list[ReviewGroup]) -> list[ReviewGroup]:
    """Groups with the most bytes not kept first (then the largest, then by representative id)."""
    return sorted(groups, key=_order)


def _grouped(
    catalog: Catalog, graph: KnnGraph, kind: Kind, threshold: float, settings: Settings, same_bytes: list[Group]
) -> list[Group]:
    """Duplicate, burst or similar groups, the stricter tiers collapsed into their keepers."""
    if kind == "duplicate":
        hidden = _hidden_copies(catalog, same_bytes, settings)
        return _duplicates(catalog, graph, threshold, hidden)
    hidden = _collapsed(catalog, graph, settings, same_bytes)
    not_similar = excluded_pairs(catalog, "not_similar")
    if kind == "burst":
        return star_groups(graph, threshold, not_similar, hidden, by="structure", proven=Verdict.SAME_MOMENT)
    return star_groups(graph, threshold, not_similar, hidden, by="scene")


def _duplicates(catalog: Catalog, graph: KnnGraph, threshold: float, hidden: Collection[int]) -> list[Group]:
    """The duplicate tier's groups, the files in `hidden` left out."""
    not_duplicate = excluded_pairs(catalog, "not_duplicate")
    return star_groups(graph, threshold, not_duplicate, hidden, by="structure", proven=Verdict.SAME_PICTURE)


def _collapsed(catalog: Catalog, graph: KnnGraph, settings: Settings, same_bytes: list[Group]) -> frozenset[int]:
    """What the burst and similar tiers leave out: every file but the keeper of each identical
    group and of each duplicate group at the settings' duplicate threshold.

    Their own sliders do not move it, so it is kept while the catalog (`Catalog.kept`), the
    graph, the identical groups and the keep settings stay as they are: at a million photos
    the duplicate grouping and the copies' keepers took ~0.5 s of every slider move.
    """
    given = (
        graph.token,
        tuple(g.members for g in same_bytes),
        settings.duplicate_threshold,
        tuple(settings.keep_rules),
        tuple(settings.preferred_folders),
    )

    def work() -> frozenset[int]:
        hidden = _hidden_copies(catalog, same_bytes, settings)
        duplicates = _duplicates(catalog, graph, settings.duplicate_threshold, hidden)
        return frozenset(hidden | _hidden_copies(catalog, duplicates, settings))

    return catalog.kept("collapsed", work, given)


_lock = threading.Lock()


def _graph(catalog: Catalog, model_id: str) -> KnnGraph:
    """The cached graph (one build at a time)."""
    with _lock:
        return open_graph(catalog, model_id, FLOOR)


def _identical_and_graph(catalog: Catalog, model_id: str) -> tuple[list[Group], KnnGraph]:
    """The byte-identical groups and the graph, side by side: the groups are read (SQL, ~0.3 s
    at a million photos) on the core left idle while the graph is checked against the
    catalog (~0.5 s) and opened, where SQLite lets go of the GIL."""
    with ThreadPoolExecutor(1) as aside:
        same_bytes = aside.submit(_identical, catalog)
        graph = _graph(catalog, model_id)
        return same_bytes.result(), graph


def _identical(catalog: Catalog) -> list[Group]:
    """Byte-identical groups, split where a person said two of the files are not duplicates."""
    excluded = excluded_pairs(catalog, "not_duplicate")
    groups: list[Group] = []
    for ids in find_identical(catalog):
        for part in _apart(ids, excluded):
            if len(part) > 1:
                groups.append(Group(tuple(part), (1.0,) * len(part)))
    return groups


def _apart(ids: Sequence[int], excluded: set[tuple[int, int]]) -> list[list[int]]:
    """Ids in subsets holding no excluded pair (each joins the first subset it may)."""
    parts: list[list[int]] = []
    for i in ids:
        home = next((p for p in parts if not any((min(i, j), max(i, j)) in excluded for j in p)), None)
        if home is None:
            parts.append([i])
        else:
            home.append(i)
    return parts


def _hidden_copies(catalog: Catalog, groups: list[Group], settings: Settings) -> set[int]:
    """The files of `groups` other than their keepers: a looser tier sees only the keeper.

    Every regroup of the burst and similar tiers needs this of the duplicate tier, whose
    groups do not change when their sliders move: at a million photos the keep rules for
    ~78k groups, ~12 s here. Their verdicts are kept (`_verdicts`), so a group whose keeper
    is known (the Duplicates tab's total works out every one) needs neither its file rows
    nor the rules: ~0.1 s for all of them. Groups are taken _BATCH at a time: a million
    photos' file rows and signatures at once took gigabytes.
    """
    choices = keeper_choices(catalog)
    hidden: set[int] = set()
    known = _verdicts(catalog, choices)
    with _choosing(catalog):
        for start in range(0, len(groups), _BATCH):
            batch = groups[start : start + _BATCH]
            waiting = [g for g in batch if _verdict_key("duplicate", g.members, settings) not in known]
            # What the rules read, not whole rows: the ORM's objects were a third of the time.
            files = catalog.file_columns([i for g in waiting for i in g.members], FACTS) if waiting else {}
            keeping = _Keeping(choices, Evidence(catalog.signatures(list(files)) if files else {}), known)
            for group in batch:
                verdict = known.get(_verdict_key("duplicate", group.members, settings))
                present = list(group.members) if verdict is not None else [i for i in group.members if i in files]
                if len(present) > 1:
                    keeper = _keeper([files[i] for i in present], settings, keeping)[0] if verdict is None else verdict[0]
                    hidden.update(i for i in present if i != keeper)
    return hidden


class _Choosers:
    """How many threads are choosing the copies the looser tiers hide from one catalog."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()


def _choosers_of(catalog: Catalog) -> _Choosers:
    with _verdicts_lock:
        found = _choosers.get(catalog)
        if found is None:
            found = _choosers[catalog] = _Choosers()
        return found


@contextmanager
def _choosing(catalog: Catalog) -> Iterator[None]:
    """Marks the copies the looser tiers hide being chosen (`_hidden_copies`): the
    Duplicates tab's total (`GroupPages.reclaimable`) waits for it between its batches
    rather than choosing the same keepers beside it. Both fill one `_verdicts`, and
    threads sharing the GIL each took as long as all together (a million photos, every
    tab at once: the Bursts tab's first groups after 41 s, 18 s with this). Choosers
    never wait: a regroup of the Duplicates tab is never held up by it."""
    choosers = _choosers_of(catalog)
    with choosers.changed:
        choosers.count += 1
    try:
        yield
    finally:
        with choosers.changed:
            choosers.count -= 1
            choosers.changed.notify_all()


def _after_choosers(catalog: Catalog, cancelled: Callable[[], bool]) -> None:
    """Wait until no thread is choosing the copies the looser tiers hide (`_choosing`), or
    until `cancelled`: a total no longer shown must not hold its worker for the ~15 s
    the choosing takes at a million photos (the app's shutdown waits 5 s for its jobs)."""
    choosers = _choosers_of(catalog)
    with choosers.changed:
        while choosers.count and not cancelled():
            choosers.changed.wait(_CANCEL_POLL_S)


#: How often a total waiting for the choosers looks whether it was cancelled.
_CANCEL_POLL_S = 0.1


_choosers: weakref.WeakKeyDictionary[Catalog, _Choosers] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class _Keeping:
    """What choosing keepers reads from the catalog besides the files, once per regrouping."""

    choices: KeeperChoices  # remembered "keep this one"
    evidence: Evidence  # signatures (and pixels) for the "original" rule
    known: dict[tuple, tuple[int, dict[int, str]]]  # `_verdicts`


def _keeping(
    catalog: Catalog, ids: Sequence[int], copies: bool = True, choices: KeeperChoices | None = None
) -> _Keeping:
    """Remembered choices (read unless given), and the signatures of `ids` when they are
    copies of one picture (different shots need none)."""
    choices = keeper_choices(catalog) if choices is None else choices
    return _Keeping(choices, Evidence(catalog.signatures(ids) if copies and ids else {}), _verdicts(catalog, choices))


def _verdicts(catalog: Catalog, choices: KeeperChoices) -> dict[tuple, tuple[int, dict[int, str]]]:
    """The keep verdicts worked out so far while the catalog's rows (`_rows_state`) and the
    remembered keepers stay as they are, by `_verdict_key`: the Duplicates tab's total and the
    copies the looser tiers hide ask for the same ~78k groups at a million photos (~20 s)."""
    state = (_rows_state(catalog), choices.pairs)
    with _verdicts_lock:
        kept = _verdicts_kept.get(catalog)
        if kept is None or kept[0] != state:
            kept = _verdicts_kept[catalog] = (state, {})
        return kept[1]


def _rows_state(catalog: Catalog) -> Hashable:
    """The state that answers worked out from the catalog's rows are kept for: its `version`,
    which moves with every commit, this process's or another's (a scan in a terminal while
    the app is open); on a server catalog, where that cannot be told cheaply, this object's
    own writes."""
    version = catalog.version()
    return ("own writes", catalog.changes) if version is None else version


def _verdict_key(kind: str, ids: Iterable[int], settings: Settings) -> tuple:
    """What a group's keep verdict depends on besides the catalog's rows and the remembered keepers
    (byte-identical copies are chosen among as duplicates are)."""
    rule = "duplicate" if kind == "identical" else kind
    return rule, tuple(ids), tuple(settings.keep_rules), tuple(settings.preferred_folders)


#: Each open catalog's keep verdicts, with the catalog state they hold for (`_verdicts`).
_verdicts_kept: weakref.WeakKeyDictionary[Catalog, tuple[tuple, dict]] = weakref.WeakKeyDictionary()
_verdicts_lock = threading.Lock()


def _keeper(
    files: Sequence[FileLike], settings: Settings, keeping: _Keeping, kind: str = "duplicate"
) -> tuple[int, dict[int, str]]:
    """The keep rules' verdict, after a person's own choice; of copies, worked out once per
    catalog state (`_verdicts`: the groups of bursts and similar photos change with their
    sliders, and a million photos' similar groups hold ~900k reasons). Similar groups hold
    distinct shots, not copies of each other: the "original" rule has nothing to look at
    there; of a burst the best shot is kept."""
    if kind not in COPY_KINDS:
        return _choose(files, settings, keeping, kind)
    key = _verdict_key(kind, (f.id for f in files), settings)
    verdict = keeping.known.get(key)
    if verdict is None:
        verdict = keeping.known[key] = _choose(files, settings, keeping, kind)
    return verdict


def _choose(files: Sequence[FileLike], settings: Settings, keeping: _Keeping, kind: str) -> tuple[int, dict[int, str]]:
    chosen = keeping.choices.kept_in(f.id for f in files)
    if kind == "burst":
        return best_shot(files, chosen)
    relation = "similar to" if kind == "similar" else "duplicate of"
    return choose_keeper(
        [facts(f) for f in files],
        settings.keep_rules or None,
        settings.preferred_folders,
        relation,
        chosen,
        None if kind == "similar" else keeping.evidence,
    )


def _review(catalog: Catalog, kind: str, groups: list[Group], settings: Settings) -> list[ReviewGroup]:
    """Keep verdicts for each group, most reclaimable first (then largest, then by id)."""
    files = catalog.files([i for g in groups for i in g.members])
    keeping = _keeping(catalog, list(files), kind in COPY_KINDS)
    reviewed = (_reviewed(kind, group, files, settings, keeping) for group in groups)
    return _most_reclaimable_first([g for g in reviewed if g is not None])


def _reviewed(kind: str, group: Group, files: dict[int, File], settings: Settings, keeping: _Keeping) -> ReviewGroup | None:
    """One group's keep verdict; None when fewer than two of its files are still catalogued."""
    present = [(files[i], s) for i, s in zip(group.members, group.similarities) if i in files]
    if len(present) < 2:
        return None  # files removed since the graph was built
    keeper, reasons = _keeper([f for f, _ in present], settings, keeping, kind)
    members = [ReviewMember(f, float(s), f.id == keeper, reasons[f.id]) for f, s in present]
    shown = {f.id for f, _ in present}
    representative = group.representative if kind != "identical" and group.representative in shown else keeper
    return ReviewGroup(kind, representative, _representative_first(members, representative))


def _order(group: ReviewGroup) -> tuple[int, int, int]:
    """The sort key of the lists: most bytes not kept first, then the largest, then by representative id."""
    return (-group.not_kept_bytes, -len(group.members), group.representative_id)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A group before its keeper is chosen."""

    kind: str
    group: Group  # as found (members no longer catalogued are dropped when reviewed)
    present: tuple[int, ...]  # its members still catalogued (two or more)
    copies: tuple[ReviewMember, ...] = ()  # byte-identical copies joining a duplicate group (picture_pages)


class _Candidates:
    """A view's groups before their keepers are chosen, with what ordering them needs as
    columns: a million photos' similar tier is 122k groups, and a slider move must not
    make an object and a tuple of sizes for each (0.8 s) to show the first page.

    Each group's bytes in all, smallest file and file count (its members still
    catalogued, and the byte-identical copies joining it) bound its place in the lists
    (`bound`); a `_Candidate` is made only for the groups a page evaluates.
    """

    def __init__(self, kind: str, groups: list[Group], sizes: Callable[[np.ndarray], np.ndarray]) -> None:
        lengths = np.fromiter((len(g.members) for g in groups), dtype=np.int64, count=len(groups))
        members = np.fromiter(chain.from_iterable(g.members for g in groups), dtype=np.int64, count=int(lengths.sum()))
        own = sizes(members)
        starts = np.cumsum(lengths) - lengths
        gone = own < 0  # removed from the catalog since the graph was built
        count = lengths - (np.add.reduceat(gone, starts) if len(groups) else 0)
        alive = count > 1
        kept = np.flatnonzero(alive)
        self.kind = kind
        self._groups = groups if len(kept) == len(groups) else [groups[n] for n in kept.tolist()]
        #: The members still catalogued, by group number, of the groups that lost some.
        self._present: dict[int, tuple[int, ...]] = {}
        for m in np.flatnonzero(count[kept] < lengths[kept]).tolist():
            n = int(kept[m])
            catalogued = own[starts[n] : starts[n] + lengths[n]] >= 0
            self._present[m] = tuple(i for i, there in zip(groups[n].members, catalogued.tolist()) if there)
        if len(groups):
            self._total = np.add.reduceat(np.where(gone, 0, own), starts)[alive]
            self._smallest = np.minimum.reduceat(np.where(gone, np.iinfo(np.int64).max, own), starts)[alive]
            firsts = members[starts] if kind != "identical" else np.minimum.reduceat(members, starts)
        else:
            self._total = self._smallest = firsts = np.zeros(0, dtype=np.int64)
        self.count = count[alive]
        #: The representative a bound may assume: the group's own when still catalogued, else the
        #: smallest id of the present members (identical groups have none: their smallest id).
        self._shown = firsts[alive]
        for n, present in self._present.items():
            group = self._groups[n]
            shown = kind != "identical" and group.representative in present
            self._shown[n] = group.representative if shown else min(present)
        self._copies: dict[int, tuple[ReviewMember, ...]] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def __getitem__(self, n: int) -> _Candidate:
        group = self._groups[n]
        return _Candidate(self.kind, group, self._present.get(n, group.members), self._copies.get(n, ()))

    def bound(self, n: int) -> tuple[int, int, int]:
        """The smallest `_order` key group `n` can have whatever its keeper: the keeper is
        at least the smallest file, and the representative, when the keeper is it, at least
        the smallest id."""
        return (-int(self._total[n] - self._smallest[n]), -int(self.count[n]), int(self._shown[n]))

    def best_first(self) -> np.ndarray:
        """Group numbers by `bound`, then by number (the order they are evaluated in)."""
        return np.lexsort((np.arange(len(self)), self._shown, -self.count, self._smallest - self._total))

    def homes(self) -> dict[int, int]:
        """Each present member's group number."""
        homes = {i: n for n, g in enumerate(self._groups) if n not in self._present for i in g.members}
        homes.update((i, n) for n, present in self._present.items() for i in present)
        return homes

    def join(self, n: int, copies: tuple[ReviewMember, ...]) -> None:
        """Byte-identical `copies` join group `n` (the keeper is chosen over them too)."""
        self._copies[n] = copies
        sizes = [m.file.size for m in copies]
        self._total[n] += sum(sizes)
        self._smallest[n] = min(int(self._smallest[n]), *sizes)
        self.count[n] += len(sizes)


def _candidates(catalog: Catalog, kind: str, groups: list[Group]) -> _Candidates:
    """The groups with two or more files still catalogued, with their sizes."""
    return _Candidates(kind, groups, lambda ids: _sizes_of(catalog, ids))


def _sizes_of(catalog: Catalog, ids: np.ndarray) -> np.ndarray:
    """The size of each of `ids`, -1 where it is not catalogued. Where a regroup asks for
    much of the catalog (the similar tier of a million photos: ~900k files, 2.5 s by id)
    every size is read at once (0.7 s) and kept until the catalog's rows change
    (`_rows_state`); fewer are read by id (the duplicate tier's 255k: 0.2-0.3 s)."""
    changes = _rows_state(catalog)
    with _sizes_lock:
        known = _sizes_kept.get(catalog)
    if known is not None and known[0] == changes:
        column = known[1]
    elif len(ids) >= _WHOLE_COLUMN * catalog.file_rows():
        column = _by_id(*catalog.sizes())
        with _sizes_lock:
            _sizes_kept[catalog] = (changes, column)
    else:
        column = _by_id(*catalog.sizes(ids.tolist()))
    return column(ids)


def _by_id(catalogued: np.ndarray, sizes: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Looking up the sizes of ids (-1 where not among `catalogued`): through a table by id
    where the ids are dense (a million binary searches took 0.13 s of a slider move)."""
    table = id_table(catalogued)

    def lookup(ids: np.ndarray) -> np.ndarray:
        at = id_positions(catalogued, ids, table)
        return np.where(at >= 0, sizes[np.maximum(at, 0)] if len(sizes) else -1, -1)

    return lookup


#: Share of the catalog's files above which reading every size beats reading them by id.
_WHOLE_COLUMN = 0.35
#: Each open catalog's sizes, with the `_rows_state` they were read at.
_sizes_kept: weakref.WeakKeyDictionary[Catalog, tuple[Hashable, Callable[[np.ndarray], np.ndarray]]] = weakref.WeakKeyDictionary()
_sizes_lock = threading.Lock()


class GroupPages:
    """The groups of one view in the lists' order (`_order`), keepers chosen only as far as
    pages are asked for.

    The order needs each group's keeper (the bytes not kept), which costs a file row read
    and the keep rules per group: a minute for the ~78k groups of a million photos. So each
    group starts with a bound on its key from its sizes alone (`_Candidates.bound`), and the
    groups are taken best bound first: a group is placed only once every group that could
    still come before it has its keeper, so any page equals the same slice of the fully
    evaluated, sorted list. The count is exact from the start; totals that need every
    keeper (`all`) cost the full evaluation and belong off the UI thread.
    """

    def __init__(
        self, catalog: Catalog, settings: Settings, candidates: _Candidates, reviewed: Sequence[ReviewGroup] = ()
    ) -> None:
        self._catalog = catalog
        self._settings = settings
        self._choices = keeper_choices(catalog)
        self._candidates = candidates
        #: Candidate numbers best bound first; those before `_next` have been evaluated.
        self._waiting = candidates.best_first()
        self._next = 0
        self._reviewed = list(reviewed)
        #: The evaluated groups not placed yet, by their exact key (and number in `_reviewed`).
        self._heap: list[tuple[tuple[int, int, int], int]] = [(_order(g), n) for n, g in enumerate(reviewed)]
        heapq.heapify(self._heap)
        self._ordered: list[ReviewGroup] = []
        self._count = len(reviewed) + len(candidates)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many groups the view lists (exact: files removed while it is open aside)."""
        return self._count

    @property
    def pending(self) -> int:
        """Groups whose keeper is not chosen yet."""
        with self._lock:
            return len(self._waiting) - self._next

    def page(self, offset: int, limit: int) -> list[ReviewGroup]:
        """Groups `offset` to `offset + limit` in the lists' order."""
        with self._lock:
            self._extend(offset + limit, max(1, limit))
            return self._ordered[offset : offset + limit]

    @property
    def photos(self) -> int:
        """How many photos the groups hold (exact from the start, as the count)."""
        with self._lock:
            placed = sum(len(g.members) for g in self._reviewed)
            return placed + int(self._candidates.count[self._waiting[self._next :]].sum())

    def all(self) -> list[ReviewGroup]:
        """Every group, each keeper chosen, sorted (what removal plans and totals need)."""
        with self._lock:
            waiting = self._waiting[self._next :].tolist()
            for start in range(0, len(waiting), _BATCH):
                self._settle(waiting[start : start + _BATCH])
            self._next = len(self._waiting)
            self._ordered = _most_reclaimable_first(self._reviewed)
            self._heap = []
            self._count = len(self._ordered)
            return list(self._ordered)

    def reclaimable(self, cancelled: Callable[[], bool] = lambda: False) -> int | None:
        """What removing every copy but the keepers frees, over all groups (None when
        `cancelled`). The keepers of the groups no page has shown yet are chosen a batch at
        a time and only their sum is kept: holding every group of a million photos, file
        rows and all, took gigabytes. Pages are never held up by it. Off the UI thread."""
        with self._lock:  # each group is counted once: placed already, or evaluated here
            total = sum(g.reclaimable for g in self._reviewed)
            waiting = self._waiting[self._next :].tolist()
        for start in range(0, len(waiting), _TOTAL_BATCH):
            _after_choosers(self._catalog, cancelled)
            if cancelled():
                return None
            batch = [self._candidates[n] for n in waiting[start : start + _TOTAL_BATCH]]
            total += sum(g.reclaimable for g in self._evaluate(batch))
        return total

    def _extend(self, wanted: int, batch: int) -> None:
        """Place groups until `wanted` are placed (or none is left), choosing keepers at
        least `batch` groups at a time (a page's worth: fewer reads than one by one)."""
        while len(self._ordered) < wanted and (self._heap or self._next < len(self._waiting)):
            left = self._next < len(self._waiting)
            if self._heap and (not left or self._heap[0][0] <= self._candidates.bound(int(self._waiting[self._next]))):
                self._ordered.append(self._reviewed[heapq.heappop(self._heap)[1]])
                continue
            take = max(batch, wanted - len(self._ordered))  # the waiting groups with the best bounds
            chosen = self._waiting[self._next : self._next + take].tolist()
            self._next += len(chosen)
            self._settle(chosen)

    def _settle(self, waiting: list[int]) -> None:
        """Choose the keepers of the candidates numbered `waiting` (taken off `_waiting`)
        and put them on the heap by their exact key."""
        found = self._evaluate([self._candidates[n] for n in waiting])
        self._count -= len(waiting) - len(found)
        for group in found:
            self._reviewed.append(group)
            heapq.heappush(self._heap, (_order(group), len(self._reviewed) - 1))

    def _evaluate(self, candidates: list[_Candidate]) -> list[ReviewGroup]:
        """The keep verdicts of `candidates`, as `_review` and `_with_copies` give them."""
        files = self._catalog.files([i for c in candidates for i in c.present])
        copy_kinds = any(c.kind in COPY_KINDS for c in candidates)
        keeping = _keeping(self._catalog, list(files), copy_kinds, self._choices)
        joined = _keeping(self._catalog, [m.file.id for c in candidates for m in c.copies], True, self._choices)
        out = []
        for candidate in candidates:
            group = _reviewed(candidate.kind, candidate.group, files, self._settings, keeping)
            if group is not None and candidate.copies:
                group = _with_copies(group, list(candidate.copies), self._settings, joined)
            if group is not None:
                out.append(group)
        return out


#: Groups evaluated at once by `GroupPages.all` and `_hidden_copies`: bounds the file rows held at a time.
_BATCH = 5000
#: Groups evaluated at once by `GroupPages.reclaimable` (how often it looks for a cancel).
_TOTAL_BATCH = 500
