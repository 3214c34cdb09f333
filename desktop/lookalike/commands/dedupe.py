"""`lookalike dedupe`: show which copies would go and why; with --apply, remove them.

Without --apply nothing is touched: the plan lists every group's kept copy with
the rule that chose it, the copies to remove with the reason, the date taken or
GPS a removed copy would take with it (which --merge-metadata saves beside the
kept copy), and the space that would be freed. With --apply the same plan runs as
one journalled batch, each file re-checked just before it is touched; `lookalike
undo` reverts it where `core.trash.undoable` says it can (quarantine; the trash on
Linux), and the report says so.

`--kind duplicate` plans the groups of `lookalike duplicates` and the app's
Duplicates tab (`core.review.view_groups`). `--kind burst` and `--kind similar`
plan groups of different shots (near-identical frames; other shots of a scene):
only when named, and only with `--different-shots`, the explicit choice that
`core.review.all_but_keepers` asks for. `--keep PATH` keeps that photo in its
group, and is remembered (`lookalike decisions` lists and revokes it).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from lookalike.commands.common import CommandError, add_json_flag, manifest_for, open_catalog, print_json, say, settings
from lookalike.commands.decide import file_ids
from lookalike.commands.history import entries_json, print_entries
from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings
from lookalike.core.review.decisions import remember_keeper
from lookalike.core.removal.deletion import BatchReport, Plan, execute, plan_from_review
from lookalike.core.removal.journal import DeletionError
from lookalike.core.review.keeprules import human_bytes, normalise_folders, normalise_rules
from lookalike.core.removal.sidecar import MetadataOffer, merge_metadata, metadata_offers
from lookalike.core.removal.trash import undoable

if TYPE_CHECKING:
    from lookalike.core.review.tiers import ReviewGroup, ReviewMember


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dedupe",
        help="plan (and with --apply, carry out) the removal of duplicate copies",
        description="Group identical or duplicate photos, keep one copy per group by the keep rules, and list "
        "what would be removed. Nothing is touched without --apply.",
    )
    parser.add_argument(
        "--kind", choices=("identical", "duplicate", "burst", "similar"), default="duplicate",
        help="identical: same bytes; duplicate: the same picture, re-encoded or resized, identical copies "
        "included (default); burst: near-identical shots, the best one kept; similar: different shots of "
        "one scene (burst and similar need --different-shots)",
    )  # fmt: skip
    parser.add_argument(
        "--different-shots", action="store_true",
        help="with --kind burst or similar: yes, remove every shot but the kept one of each group (they are not copies)",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="append", default=[], metavar="PATH",
        help="keep this photo in its group whatever the rules say; remembered (repeatable)",
    )  # fmt: skip
    parser.add_argument("--threshold", type=float, metavar="T", help="threshold of the kind's groups, in (0, 1] (default: settings)")
    parser.add_argument("--rules", metavar="R1,R2,...", help="keep rules in order (default: settings, else built-in)")
    parser.add_argument(
        "--prefer", action="append", default=[], metavar="DIR", help="keep copies in this folder first (repeatable)"
    )
    parser.add_argument(
        "--mode", metavar="trash|quarantine:DIR|permanent", help="where removed files go (default: settings, trash)"
    )
    parser.add_argument("--yes-permanently", action="store_true", help="confirm --mode permanent (no undo)")
    parser.add_argument(
        "--merge-metadata", action="store_true",
        help="write an XMP sidecar for a kept copy lacking the date taken/GPS a removed copy has",
    )  # fmt: skip
    parser.add_argument("--apply", action="store_true", help="remove the files (default: only show the plan)")
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="model whose embeddings group duplicates")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = _settings(args)
    mode, quarantine = _mode(args, config)
    model_id = manifest_for(args.model).model_id
    with open_catalog(args) as catalog:
        groups = _groups(catalog, model_id, args.kind, args.threshold, config)
        if args.keep:
            _remember_keepers(catalog, groups, args.keep)
            groups = _groups(catalog, model_id, args.kind, args.threshold, config)
        _check_tier(groups, args.different_shots)
        try:
            plan = plan_from_review(catalog, groups)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not args.apply or not plan.removals:
            _show_plan(plan, groups, metadata_offers(catalog, plan), mode, args.merge_metadata, args.json)
            return 0
        sidecars = [str(p) for p in merge_metadata(catalog, plan)] if args.merge_metadata else []
        report = _execute(catalog, plan, mode, quarantine, args.yes_permanently)
    _show_report(report, sidecars, args.json)
    return 1 if report.failed else 0


def _settings(args: argparse.Namespace) -> Settings:
    config = settings()
    try:
        rules = normalise_rules(args.rules.split(",") if args.rules else config.keep_rules)
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    preferred = normalise_folders(args.prefer) if args.prefer else config.preferred_folders
    return dataclasses.replace(config, keep_rules=rules, preferred_folders=preferred)


def _groups(
    catalog: Catalog, model_id: str, kind: str, threshold: float | None, config: Settings
) -> list[ReviewGroup]:
    """The groups to plan: identical ones, or those a review view lists (`view_groups`)."""
    # Imported here: grouping loads the vector index stack, which other verbs never need.
    from lookalike.core.review.tiers import check_threshold, find_groups, view_groups

    if threshold is not None:
        try:
            check_threshold(threshold)
        except ValueError as exc:
            raise CommandError(str(exc), exit_code=2) from exc
    if kind == "identical":
        return find_groups(catalog, model_id, "identical", settings=config)
    return view_groups(catalog, model_id, kind, threshold, config)  # type: ignore[arg-type]


def _remember_keepers(catalog: Catalog, groups: list[ReviewGroup], paths: list[str]) -> None:
    """Remember each --keep PATH as its group's keeper (one per group)."""
    ids = file_ids(catalog, paths)
    home = {m.file.id: n for n, g in enumerate(groups) for m in g.members}
    kept: dict[int, str] = {}
    for path, file_id in ids.items():
        if file_id not in home:
            raise CommandError(f"--keep {path}: not in any group of this plan", exit_code=2)
        if home[file_id] in kept:
            raise CommandError(f"--keep {kept[home[file_id]]} and {path} are in one group: keep one per group", exit_code=2)
        kept[home[file_id]] = path
        remember_keeper(catalog, file_id, [m.file.id for m in groups[home[file_id]].members])


def _check_tier(groups: list[ReviewGroup], different_shots: bool) -> None:
    """Refuse to plan the removal of different shots unless --different-shots says so."""
    from lookalike.core.review.tiers import DifferentShots, all_but_keepers

    try:
        all_but_keepers(groups, different_shots)
    except DifferentShots as exc:
        raise CommandError(f"would remove {exc}; add --different-shots if that is what you want", exit_code=2) from exc


def _mode(args: argparse.Namespace, config: Settings) -> tuple[str, str | None]:
    """(mode, quarantine folder) from --mode, else from the settings."""
    text = args.mode or (
        f"quarantine:{config.quarantine_dir}" if config.deletion_mode == "quarantine" else config.deletion_mode
    )
    mode, _, folder = text.partition(":")
    if mode == "quarantine" and not folder:
        raise CommandError("--mode quarantine needs a folder: --mode quarantine:DIR", exit_code=2)
    if mode not in ("trash", "quarantine", "permanent") or (folder and mode != "quarantine"):
        raise CommandError(f"unknown mode {text!r}; use trash, quarantine:DIR or permanent", exit_code=2)
    if mode == "permanent" and args.apply and not args.yes_permanently:
        raise CommandError("--mode permanent deletes without undo; add --yes-permanently to confirm", exit_code=2)
    return mode, folder or None


def _execute(catalog: Catalog, plan: Plan, mode: str, quarantine: str | None, confirmed: bool) -> BatchReport:
    try:
        return execute(catalog, plan, mode, quarantine, confirm_permanent=confirmed)  # type: ignore[arg-type]
    except DeletionError as exc:
        raise CommandError(str(exc)) from exc


def _show_plan(
    plan: Plan, groups: list[ReviewGroup], offers: list[MetadataOffer], mode: str, merging: bool, as_json: bool
) -> None:
    offer_of = {offer.keeper_id: offer for offer in offers}
    if as_json:
        print_json(
            {
                "apply": False,
                "mode": mode,
                "bytes_freed": plan.bytes_freed,
                "merge_metadata": merging,
                "groups": [
                    {
                        "keep": [_member_json(m) for m in g.members if m.keep],
                        "remove": [_member_json(m) for m in g.members if not m.keep],
                        "metadata": _offer_json(_offer_for(g, offer_of)),
                    }
                    for g in groups
                ],
            }
        )
        return
    if not plan.removals:
        print("Nothing to remove: no group has a copy to spare.")
        return
    for number, group in enumerate(groups, start=1):
        print(f"Group {number}")
        for member in sorted(group.members, key=lambda m: not m.keep):
            say(f"  {'keep  ' if member.keep else 'remove'}  {member.file.path}  ({member.reason})")
        offer = _offer_for(group, offer_of)
        if offer is not None:
            say(f"  note    {_offer_text(offer, merging)}")
    print()
    print(
        f"Would remove {len(plan.removals)} file(s) and keep {len(plan.kept)}, freeing "
        f"{human_bytes(plan.bytes_freed)} ({mode}). Run again with --apply to do it."
    )


def _member_json(member: ReviewMember) -> dict:
    file = member.file
    return {"id": file.id, "path": file.path, "size": file.size, "reason": member.reason}


def _offer_for(group: ReviewGroup, offers: dict[int, MetadataOffer]) -> MetadataOffer | None:
    """The metadata offer of the group's kept copy, if it lacks something a removed copy has."""
    return next((offers[m.file.id] for m in group.members if m.keep and m.file.id in offers), None)


def _offer_json(offer: MetadataOffer | None) -> dict | None:
    if offer is None:
        return None
    return {
        "sidecar": str(offer.sidecar),
        "taken_at": offer.taken_at,
        "taken_from": offer.taken_from,
        "gps": dataclasses.asdict(offer.gps) if offer.gps else None,
        "gps_from": offer.gps_from,
    }


def _offer_text(offer: MetadataOffer, merging: bool) -> str:
    """Under a group: what its kept copy lacks that a removed copy has, and where it can be kept."""
    by_source: dict[str, list[str]] = {}
    for what, source in offer.sources.items():
        by_source.setdefault(Path(source).name, []).append(what)
    lost = " and the ".join(f"{' and '.join(whats)} of {name}" for name, whats in by_source.items())
    them = "them" if len(offer.sources) > 1 else "it"
    how = f"--merge-metadata saves {them}" if merging else f"add --merge-metadata to save {them}"
    return f"the kept copy lacks the {lost} (removed): {how} in {offer.sidecar.name}"


def _show_report(report: BatchReport, sidecars: list[str], as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "apply": True,
                "batch": report.batch_id,
                "mode": report.mode,
                "target": report.target,
                "bytes_freed": report.bytes_freed,
                "sidecars": sidecars,
                "undoable": undoable(report.mode),
                "files": entries_json(report.entries),
            }
        )
        return
    if report.entries:
        print_entries(report.entries)
        print()
    for sidecar in sidecars:
        say(f"wrote {sidecar}")
    print(
        f"Batch {report.batch_id}: removed {len(report.done)} file(s) ({human_bytes(report.bytes_freed)}, "
        f"{report.mode}), skipped {len(report.skipped)}, failed {len(report.failed)}." + _undo_note(report.mode)
    )


def _undo_note(mode: str) -> str:
    """What the person can do to get the files back, as this system allows."""
    if undoable(mode):
        return " `lookalike undo` puts them back."
    if mode == "trash":
        return " Lookalike cannot restore from this system's trash: restore them from the Trash yourself if needed."
    return ""
