"""XMP sidecars: keep a removed copy's date taken and GPS when the kept copy lacks them.

A re-exported or messaging-app copy is often the one kept (larger, preferred
folder) while the camera's copy with the EXIF date and location is removed.
Rather than rewrite the kept photo's bytes, we write `<photo>.xmp` beside it (the
darktable/digiKam naming), which photo managers read; an existing sidecar is
never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image

from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.deletion import Plan

_IFD_GPS = 0x8825
_LAT_REF, _LAT, _LON_REF, _LON, _ALT_REF, _ALT = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True, slots=True)
class GpsPosition:
    latitude: float  # degrees, north positive
    longitude: float  # degrees, east positive
    altitude: float | None = None  # metres above sea level


def sidecar_path(photo: Path | str) -> Path:
    photo = Path(photo)
    return photo.with_name(photo.name + ".xmp")


def read_gps(path: Path | str) -> GpsPosition | None:
    """The EXIF GPS position of a photo, or None when it has none or it cannot be read."""
    try:
        with Image.open(path) as image:
            gps = dict(image.getexif().get_ifd(_IFD_GPS))
        latitude = _degrees(gps[_LAT], gps.get(_LAT_REF, "N"), "S")
        longitude = _degrees(gps[_LON], gps.get(_LON_REF, "E"), "W")
    except (OSError, KeyError, ValueError, TypeError, ZeroDivisionError, IndexError):
        return None
    altitude = None
    if _ALT in gps:
        try:
            below = gps.get(_ALT_REF, b"\x00") in (1, b"\x01")
            altitude = -float(gps[_ALT]) if below else float(gps[_ALT])
        except (TypeError, ValueError, ZeroDivisionError):
            altitude = None
    return GpsPosition(latitude, longitude, altitude)


def _degrees(dms: Sequence[float], ref: str, negative: str) -> float:
    degrees, minutes, seconds = (float(v) for v in dms)
    value = degrees + minutes / 60 + seconds / 3600
    return -value if str(ref).strip("\x00 ").upper() == negative else value


def write_xmp_sidecar(photo: Path | str, taken_at: str | None, gps: GpsPosition | None) -> Path | None:
    """Write `<photo>.xmp` with the date taken (ISO) and/or GPS; None when there is nothing to write.

    Raises FileExistsError when the photo already has a sidecar.
    """
    if not taken_at and gps is None:
        return None
    fields = []
    if taken_at:
        fields.append(f"   exif:DateTimeOriginal=\"{escape(taken_at)}\"")
    if gps is not None:
        fields.append(f"   exif:GPSLatitude=\"{_coordinate(gps.latitude, 'N', 'S')}\"")
        fields.append(f"   exif:GPSLongitude=\"{_coordinate(gps.longitude, 'E', 'W')}\"")
        if gps.altitude is not None:
            fields.append(f"   exif:GPSAltitudeRef=\"{int(gps.altitude < 0)}\"")
            fields.append(f"   exif:GPSAltitude=\"{round(abs(gps.altitude) * 100)}/100\"")
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Lookalike">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '   xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        + "\n".join(fields)
        + "/>\n </rdf:RDF>\n</x:xmpmeta>\n"
    )
    target = sidecar_path(photo)
    with open(target, "x", encoding="utf-8") as handle:  # "x": never replace a user's sidecar
        handle.write(text)
    return target


def _coordinate(value: float, positive: str, negative: str) -> str:
    """XMP GPSCoordinate 'DDD,MM.mmmmmmK'."""
    degrees, minutes = divmod(abs(value) * 60, 60)
    return f"{int(degrees)},{minutes:.6f}{positive if value >= 0 else negative}"


@dataclass(frozen=True, slots=True)
class MetadataOffer:
    """What a kept copy lacks that a removed copy of its group has, shown before anything is removed."""

    keeper_id: int
    keeper_path: str
    taken_at: str | None  # the date taken to carry over, if the keeper has none
    taken_from: str | None  # the removed copy it comes from
    gps: GpsPosition | None  # the position to carry over, if the keeper has none
    gps_from: str | None

    @property
    def sidecar(self) -> Path:
        return sidecar_path(self.keeper_path)

    @property
    def sources(self) -> dict[str, str]:
        """What the keeper lacks ("date taken", "GPS") -> the removed copy that has it."""
        found = (("date taken", self.taken_at, self.taken_from), ("GPS", self.gps, self.gps_from))
        return {name: source for name, value, source in found if value and source}


def metadata_offers(catalog: Catalog, plan: Plan) -> list[MetadataOffer]:
    """For each kept copy lacking a date taken or GPS that a copy removed for it has: what to carry over.

    Kept copies that already have a sidecar get no offer (theirs is never replaced).
    Reads the GPS of the removed copies, so the offer holds only what a sidecar would.
    """
    rows = catalog.files([i for r in plan.removals for i in (r.file_id, *r.keepers)])
    offers = []
    for kept in plan.kept:
        keeper = rows.get(kept.file_id)
        if keeper is None or (keeper.taken_at and keeper.has_gps) or sidecar_path(keeper.path).exists():
            continue
        donors = [rows[r.file_id] for r in plan.removals if kept.file_id in r.keepers and r.file_id in rows]
        dated = None if keeper.taken_at else next((d for d in donors if d.taken_at), None)
        located, gps = None, None
        if not keeper.has_gps:
            located, gps = next(((d, p) for d in donors if d.has_gps and (p := read_gps(d.path))), (None, None))
        if dated or located:
            offers.append(
                MetadataOffer(
                    keeper.id,
                    keeper.path,
                    dated.taken_at if dated else None,
                    dated.path if dated else None,
                    gps,
                    located.path if located else None,
                )
            )
    return offers


def merge_metadata(catalog: Catalog, plan: Plan) -> list[Path]:
    """Before removal: write the sidecar of each of the plan's `metadata_offers`; returns those written."""
    return write_offers(metadata_offers(catalog, plan))


def write_offers(offers: Sequence[MetadataOffer]) -> list[Path]:
    """The sidecars of offers already shown to a person (not read again); returns those written."""
    written = []
    for offer in offers:
        try:
            sidecar = write_xmp_sidecar(offer.keeper_path, offer.taken_at, offer.gps)
        except FileExistsError:
            continue  # one appeared since the offer was made: never replaced
        if sidecar is not None:
            written.append(sidecar)
    return written
