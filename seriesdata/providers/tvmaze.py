"""TVmaze (https://api.tvmaze.com): a show, its episode list and single episodes.

TVmaze names a series by its own id. While we only know TheTVDB's id, `lookup/shows?thetvdb=`
finds it: a hit is a 301 to `/shows/{id}` (the shared client follows it, so the body is the show),
a miss a 404 with the body `null`. The id found is remembered for the life of the provider, so each
later call for that series costs one request. TVmaze's data is CC BY-SA: every record keeps the
TVmaze page (`url`) for attribution. TVmaze has no translations: texts are in the show's language.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx

from seriesdata.errors import FeedGap, ItemError, NotFound
from seriesdata.providers.base import (
    Changes,
    EpisodeRecord,
    EpisodeRef,
    SeriesRecord,
    SeriesRef,
    expect,
    from_epoch,
    optional_date,
    optional_int,
)
from seriesdata.providers.http import Api

# TVmaze gives a language's English name; we store ISO 639-2 codes (the /T forms, as TheTVDB does).
# Dialects without a 639-2 code of their own fall under their macrolanguage (Cantonese -> zho).
LANGUAGE_CODES: dict[str, str] = {
    "afrikaans": "afr",
    "albanian": "sqi",
    "arabic": "ara",
    "armenian": "hye",
    "azerbaijani": "aze",
    "basque": "eus",
    "belarusian": "bel",
    "bengali": "ben",
    "bosnian": "bos",
    "bulgarian": "bul",
    "cantonese": "zho",
    "catalan": "cat",
    "chinese": "zho",
    "croatian": "hrv",
    "czech": "ces",
    "danish": "dan",
    "dutch": "nld",
    "english": "eng",
    "estonian": "est",
    "faroese": "fao",
    "filipino": "fil",
    "finnish": "fin",
    "french": "fra",
    "gaelic": "gla",
    "galician": "glg",
    "georgian": "kat",
    "german": "deu",
    "greek": "ell",
    "gujarati": "guj",
    "hebrew": "heb",
    "hindi": "hin",
    "hungarian": "hun",
    "icelandic": "isl",
    "indonesian": "ind",
    "irish": "gle",
    "italian": "ita",
    "japanese": "jpn",
    "kannada": "kan",
    "kazakh": "kaz",
    "khmer": "khm",
    "korean": "kor",
    "kurdish": "kur",
    "latin": "lat",
    "latvian": "lav",
    "lithuanian": "lit",
    "luxembourgish": "ltz",
    "macedonian": "mkd",
    "malay": "msa",
    "malayalam": "mal",
    "maltese": "mlt",
    "mandarin": "zho",
    "marathi": "mar",
    "mongolian": "mon",
    "nepali": "nep",
    "norwegian": "nor",
    "pashto": "pus",
    "persian": "fas",
    "polish": "pol",
    "portuguese": "por",
    "punjabi": "pan",
    "romanian": "ron",
    "russian": "rus",
    "scottish gaelic": "gla",
    "serbian": "srp",
    "sinhala": "sin",
    "sinhalese": "sin",
    "slovak": "slk",
    "slovenian": "slv",
    "somali": "som",
    "spanish": "spa",
    "swahili": "swa",
    "swedish": "swe",
    "tagalog": "tgl",
    "tamil": "tam",
    "telugu": "tel",
    "thai": "tha",
    "turkish": "tur",
    "ukrainian": "ukr",
    "urdu": "urd",
    "uzbek": "uzb",
    "vietnamese": "vie",
    "welsh": "cym",
    "zulu": "zul",
}

_SHOW_PATH = re.compile(r"/shows/(\d+)/?$")
UPDATE_WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
FEED_MARGIN = timedelta(hours=1)


def feed_window(gap: timedelta) -> str | None:
    """The smallest `/updates/shows` window that covers `gap` with a margin; None past a month."""
    for name, window in UPDATE_WINDOWS.items():
        if gap + FEED_MARGIN <= window:
            return name
    return None


class TvmazeProvider:
    name = "tvmaze"

    def __init__(self, api: Api, include_specials: bool = False) -> None:
        self.api = api  # no languages: TVmaze has one per show, no choice
        self.include_specials = include_specials
        self._show_ids: dict[int, int] = {}  # TheTVDB id -> TVmaze id, from lookups
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return self.api.requests

    # --- the Provider protocol -------------------------------------------------------------------

    def fetch_series(self, ref: SeriesRef) -> SeriesRecord:
        show_id = ref.tvmaze_id if ref.tvmaze_id is not None else self._known_show_id(ref.tvdb_id)
        if show_id is None:
            show = self._lookup(ref.tvdb_id)  # the lookup's body is already the show
        else:
            show = self._get(f"shows/{show_id}")
        record = series_record(show, ref.tvdb_id)  # checks that show["id"] is an int
        record.episodes = self._episode_list(show["id"])
        return record

    def fetch_episodes(self, ref: SeriesRef) -> list[EpisodeRecord]:
        return self._episode_list(self._show_id(ref))

    def fetch_episode(self, ref: EpisodeRef) -> EpisodeRecord:
        if ref.tvmaze_id is not None:
            data = self._get(f"episodes/{ref.tvmaze_id}")
            record = episode_record(data)
            _check_episode_show(data, ref)
            return record
        if ref.season_number is not None and ref.number is not None:
            show_id = self._show_id(ref.series)
            params = {"season": ref.season_number, "number": ref.number}
            try:
                data = self._get(f"shows/{show_id}/episodebynumber", params)
            except NotFound:
                raise NotFound(
                    f"TVmaze show {show_id} has no episode {ref.season_number}x{ref.number}"
                ) from None
            return episode_record(data)
        raise ItemError("TVmaze cannot find an episode without its TVmaze id or season and number")

    # --- the change feed ---------------------------------------------------------------------------

    # `since=day|week|month`; the margin allows for clock skew and TVmaze's hour-long edge cache.
    feed_reach = UPDATE_WINDOWS["month"] - FEED_MARGIN

    def changes_since(self, since: datetime, now: datetime) -> Changes:
        """`/updates/shows` over the smallest window that reaches back to `since`: one request.

        The answer maps each show updated in the window to its last update; an episode's edit counts as
        its show's. TVmaze has no deletes in this feed: a show gone upstream is found by its 404.
        """
        window = feed_window(now - since)
        if window is None:
            raise FeedGap(f"TVmaze's change feed reaches back a month, not to {since}")
        before = self.requests
        data = self._get("updates/shows", {"since": window})
        if not isinstance(data, dict):
            raise ItemError(
                f"unexpected response from updates/shows: expected an object, got {type(data).__name__}"
            )
        changes = Changes(key="tvmaze_id")
        for show_id, stamp in data.items():
            if str(show_id).isdigit() and isinstance(stamp, int) and not isinstance(stamp, bool):
                changes.changed[int(show_id)] = from_epoch(stamp)
        changes.requests = self.requests - before
        return changes

    # --- requests --------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.api.get_json(path, params)

    def _episode_list(self, show_id: int) -> list[EpisodeRecord]:
        params = {"specials": 1} if self.include_specials else None
        records = episode_records(self._get(f"shows/{show_id}/episodes", params), show_id)
        if not self.include_specials:  # TVmaze leaves them out already; a fake server may not
            records = [record for record in records if not record.is_special]
        return records

    def _show_id(self, ref: SeriesRef) -> int:
        if ref.tvmaze_id is not None:
            return ref.tvmaze_id
        known = self._known_show_id(ref.tvdb_id)
        if known is not None:
            return known
        show = self._lookup(ref.tvdb_id)
        return expect(show, "id", int, nullable=False)

    def _known_show_id(self, tvdb_id: int) -> int | None:
        with self._lock:
            return self._show_ids.get(tvdb_id)

    def _lookup(self, tvdb_id: int) -> Any:
        """The show for TheTVDB id `tvdb_id`: a 301 to the show, which Api.send follows."""
        try:
            show = self._get("lookup/shows", {"thetvdb": tvdb_id})
        except NotFound:
            raise NotFound(f"TheTVDB id {tvdb_id} is not on TVmaze") from None
        show_id = expect(show, "id", int, nullable=False)
        _check_tvdb_id(show, tvdb_id)
        with self._lock:
            self._show_ids[tvdb_id] = show_id
        return show


# --- mapping --------------------------------------------------------------------------------------


def series_record(show: Any, tvdb_id: int) -> SeriesRecord:
    """A SeriesRecord (without episodes) from a `/shows/{id}` body."""
    show_id = expect(show, "id", int, nullable=False)
    _check_tvdb_id(show, tvdb_id)
    first_aired = optional_date(expect(show, "premiered", str))
    return SeriesRecord(
        tvdb_id=tvdb_id,
        tvmaze_id=show_id,
        name=expect(show, "name", str) or None,
        overview=html_to_text(expect(show, "summary", str)),
        status=expect(show, "status", str) or None,
        first_aired=first_aired,
        year=optional_int(first_aired[:4]) if first_aired else None,
        original_language=language_code(expect(show, "language", str)),
        image_url=_image_url(show),
        url=expect(show, "url", str) or None,
    )


def episode_records(data: Any, show_id: int) -> list[EpisodeRecord]:
    """EpisodeRecords from a `/shows/{id}/episodes` body (a JSON array)."""
    if not isinstance(data, list):
        raise ItemError(
            f"unexpected response for the episodes of TVmaze show {show_id}: "
            f"expected a list, got {type(data).__name__}"
        )
    records = []
    for index, item in enumerate(data):
        try:
            records.append(episode_record(item))
        except ItemError as error:
            raise ItemError(f"episode #{index + 1} of TVmaze show {show_id}: {error}") from None
    return records


def episode_record(data: Any) -> EpisodeRecord:
    """An EpisodeRecord from an episode object. Specials go to season 0 without a number."""
    episode_id = expect(data, "id", int, nullable=False)
    number = expect(data, "number", int)
    kind = expect(data, "type", str) or ""
    special = number is None or "special" in kind
    season = expect(data, "season", int, nullable=special)
    return EpisodeRecord(
        tvdb_id=None,
        tvmaze_id=episode_id,
        season_number=0 if special else season,
        number=None if special else number,
        name=expect(data, "name", str) or None,
        overview=html_to_text(expect(data, "summary", str)),
        aired=optional_date(expect(data, "airdate", str)),
        runtime=expect(data, "runtime", int),
        image_url=_image_url(data),
        url=expect(data, "url", str) or None,
    )


def language_code(name: str | None) -> str | None:
    """ISO 639-2 code for TVmaze's language name ("English" -> "eng"); None when unknown."""
    if not name:
        return None
    return LANGUAGE_CODES.get(" ".join(name.split()).lower())


def _image_url(data: Any) -> str | None:
    image = expect(data, "image", dict)
    if image is None:
        return None
    return expect(image, "original", str) or expect(image, "medium", str) or None


def _check_tvdb_id(show: Any, tvdb_id: int) -> None:
    externals = expect(show, "externals", dict)
    linked = expect(externals, "thetvdb", int) if externals is not None else None
    if linked is not None and linked != tvdb_id:
        raise ItemError(f"TVmaze show {show.get('id')} belongs to TheTVDB id {linked}, not {tvdb_id}")


def _check_episode_show(data: dict[str, Any], ref: EpisodeRef) -> None:
    """When the episode names its show (`_links.show`, newer responses), it must be ours."""
    expected = ref.series.tvmaze_id
    links = data.get("_links")
    show = links.get("show") if isinstance(links, dict) else None
    href = show.get("href") if isinstance(show, dict) else None
    if expected is None or not isinstance(href, str):
        return
    match = _SHOW_PATH.search(httpx.URL(href).path)
    if match is not None and int(match.group(1)) != expected:
        raise ItemError(f"TVmaze episode {data['id']} belongs to show {match.group(1)}, not {expected}")


# --- HTML summaries -------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"}
)
_HIDDEN_TAGS = frozenset({"script", "style"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag == "br" or tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <br/>: one line break, not two

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            # In HTML a newline in text is just a space; only tags break lines.
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str | None) -> str | None:
    """Plain text of a TVmaze summary: one line per paragraph or <br>, entities unescaped."""
    if not html:
        return None
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line) or None
