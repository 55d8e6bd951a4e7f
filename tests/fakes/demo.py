"""Real-looking demo catalogues for manual runs (`python -m tests.fakes.serve --demo`).

Ids and top-level facts match the real services; episode titles beyond a few are
synthesised. Counts are what tests and demos rely on, so keep them stable.
"""

from __future__ import annotations

from .tvdb_server import FakeTvdb
from .tvmaze_server import BB_SEASON1, FakeTvmaze

GOT_SEASONS = [10, 10, 10, 10, 10, 10, 7, 6]  # 73 episodes
BB_SEASONS = [7, 13, 13, 13, 16]  # 62 episodes


def load_tvdb_demo(tvdb: FakeTvdb) -> None:
    """81189 Breaking Bad (62), 121361 Game of Thrones (73), 78878 FLCL (jpn, 6 + 1 special),
    73752 Berserk (jpn, 25), 71663 The Simpsons (59, relative image path)."""
    bb = tvdb.add_series(
        81189,
        "Breaking Bad",
        episodes=BB_SEASONS,
        status="Ended",
        year=2008,
        aliases=[{"language": "zho", "name": "絕命毒師"}],
        average_runtime=48,
    )
    for number, title in enumerate(BB_SEASON1, start=1):
        ep = next(
            e for e in tvdb.episodes.values() if e.series_id == bb.id and e.season == 1 and e.number == number
        )
        ep.name = title
        ep.translations["eng"]["name"] = title
    tvdb.add_series(
        121361,
        "Game of Thrones",
        episodes=GOT_SEASONS,
        status="Ended",
        year=2011,
        average_runtime=55,
    )
    tvdb.add_series(
        78878,
        "フリクリ",
        original_language="jpn",
        english_name="FLCL",
        episodes=6,
        specials=1,
        status="Ended",
        year=2000,
        average_runtime=24,
        aliases=[{"language": "jpn", "name": "フリクリ プログレ"}],
    )
    tvdb.add_series(
        73752,
        "剣風伝奇ベルセルク",
        original_language="jpn",
        english_name="Berserk",
        episodes=25,
        status="Ended",
        year=1997,
        average_runtime=24,
    )
    tvdb.add_series(
        71663,
        "The Simpsons",
        episodes=[13, 22, 24],
        seasons=3,
        year=1989,
        image="/banners/posters/71663-15.jpg",
        average_runtime=24,
    )


def load_tvmaze_demo(tvmaze: FakeTvmaze) -> None:
    """169 Breaking Bad ↔ 81189, 82 Game of Thrones ↔ 121361, 83 The Simpsons ↔ 71663."""
    tvmaze.add_breaking_bad()
    tvmaze.add_show(
        82,
        thetvdb=121361,
        name="Game of Thrones",
        episodes=GOT_SEASONS,
        imdb="tt0944947",
        status="Ended",
        premiered="2011-04-17",
        network={
            "id": 8,
            "name": "HBO",
            "country": {"name": "United States", "code": "US", "timezone": "America/New_York"},
            "officialSite": None,
        },
    )
    tvmaze.add_show(
        83,
        thetvdb=71663,
        name="The Simpsons",
        episodes=[13, 22, 24],
        imdb="tt0096697",
        premiered="1989-12-17",
        specials=1,
    )
