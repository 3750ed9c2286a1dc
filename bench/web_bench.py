"""The analyst page on a store of 100,000 articles: how long each page takes on the server.

    .venv/bin/python -m bench.web_bench [--n 100000] [--rounds 7] [--db PATH] [--rebuild]

A SQLite store (the embedded default) is filled with ``--n`` synthetic-but-realistic tagged
articles (:mod:`bench.web_corpus`: a year of stories, ~300 outlets, a long tail of actors),
written through the store's own ``write_articles`` by two processes (the analysis runs on both
cores; the writes serialise on SQLite's lock). The file is kept (``--db``, default
``.bench-cache/web-<n>.db``) and reused while it holds ``n`` articles: building it takes ~2
minutes, timing the pages ~1. Alert firings (the demo's two rules over the newest matches) and
the poller state of 300 feeds are added so that those pages have something to show.

Each page is requested in-process through the ASGI app (Starlette's test client: no socket,
no browser), once to warm the caches, then ``--rounds`` times; the figures are the median and
the worst round in milliseconds, from the request to the last byte of HTML — what the server
spends. The actor chart of a year (the actor page's histogram call for the most mentioned
actor, and the whole page) is reported on its own. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web_corpus import END, documents  # noqa: E402
from newsmon.adapters.sqlite_store import SqliteStore  # noqa: E402
from newsmon.config import Settings  # noqa: E402
from newsmon.query import compile_query  # noqa: E402

BATCH = 500
TARGET_MS = 300.0
CHART_TARGET_MS = 1000.0
RULES = {
    "putin-ceasefire": 'ceasefire AND actor:"Vladimir Putin"',
    "istanbul-talks": "Istanbul AND topic:peace_talks",
}


def _fill_part(args: tuple[str, int, int, int]) -> int:
    """One writer process: every ``parts``-th document from ``part`` on."""
    path, n, part, parts = args
    store = SqliteStore(path)
    written, batch = 0, []
    for i, doc in enumerate(documents(n)):
        if i % parts == part:
            batch.append(doc)
        if len(batch) == BATCH:
            written += len(store.write_articles(batch).written)
            batch = []
    if batch:
        written += len(store.write_articles(batch).written)
    store.close()
    return written


def build(path: Path, n: int, rebuild: bool) -> float:
    """The store at ``path`` with ``n`` articles (reused if it has them); seconds spent."""
    if path.exists() and not rebuild:
        store = SqliteStore(path)
        have = store.count()
        store.close()
        if have == n:
            return 0.0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    SqliteStore(path).close()
    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        written = sum(pool.map(_fill_part, [(str(path), n, k, 2) for k in range(2)]))
    if written != n:
        raise SystemExit(f"web_bench: wrote {written} of {n} articles")
    return time.perf_counter() - started


def workspace(store: SqliteStore, root: Path) -> Settings:
    """Rules, firings and 300 feeds' poller state beside the store."""
    from ingest.state import FeedRecord, FeedState

    (root / "rules.yaml").write_text(
        "".join(
            f"- {{name: {name}, query: '{query}', channels: [{{type: log}}]}}\n"
            for name, query in RULES.items()
        )
    )
    for name, query in RULES.items():
        matcher = compile_query(query)
        for hit in store.search(query, limit=100).hits:
            store.record_alert(
                f"{name}~{hit['story_id']}~0",
                {
                    "kind": "alert",
                    "rule": name,
                    "query": query,
                    "story_id": hit["story_id"],
                    "article_id": hit["article_id"],
                    "title": hit["title"],
                    "url": hit["url"],
                    "source": hit["source"],
                    "published": hit["published"],
                    "matched": matcher.explain(hit) or [],
                    "status": "sent",
                    "created": hit["published"],
                    "size": 1,
                },
            )
    feeds = [f"https://www.outlet{i}.example/rss" for i in range(300)]
    (root / "feeds.yaml").write_text("".join(f"- {{url: '{u}'}}\n" for u in feeds))
    state = FeedState(root / "data" / "ingest.sqlite3")
    state.save_many(
        FeedRecord(
            u,
            last_polled=END,
            last_success=END if i % 17 else None,
            last_error=None if i % 17 else "HTTP 503",
            error_kind=None if i % 17 else "http_5xx",
            consecutive_failures=0 if i % 17 else 4,
            items_seen=100 + i,
            last_new=END - timedelta(hours=i % 50),
        )
        for i, u in enumerate(feeds)
    )
    state.close()
    return Settings.model_validate(
        {
            "store": f"sqlite://{store.path}",
            "data_dir": root / "data",
            "rules": root / "rules.yaml",
            "feeds": root / "feeds.yaml",
        }
    )


def pages(store: SqliteStore) -> dict[str, str]:
    top = store.aggregate("*:*", terms={"actor": 1}, stories=1, story_order="size")
    actor = top.terms["actor"][0][0]
    story = top.stories[0].story_id
    return {
        "search: everything": "/search",
        "search: ceasefire": "/search?q=ceasefire",
        "search: actor AND topic": "/search?q="
        + quote('actor:"Vladimir Putin" AND topic:peace_talks'),
        "search: boolean + wildcard": "/search?q=" + quote("(ceasefire OR truce) AND negotiat*"),
        "search: phrase": "/search?q=" + quote('"peace talks"'),
        "search: last 30 days": "/search?q=ceasefire&since=30d",
        "search: relevance": "/search?q=ceasefire%20Istanbul&sort=relevance",
        "search: page 40": "/search?q=ceasefire&page=40",
        "search: bad query": "/search?q=" + quote("ceasefire AND ("),
        "stories: latest": "/stories",
        "stories: largest, 7 days": "/stories?order=size&since=7d",
        "stories: of a query": "/stories?q=ceasefire",
        "story: the largest": f"/story/{story}",
        f"actor: {actor} (a year)": f"/actor/{quote(actor)}",
        "actor: Volodymyr Zelensky": "/actor/" + quote("Volodymyr Zelensky"),
        "actor: a tail actor": "/actor/" + quote("Anna Kovalenko"),
        "alerts": "/alerts",
        "feeds": "/feeds",
        "article": f"/article/{store.search('*:*', limit=1).hits[0]['article_id']}",
    }


def timed(client: Any, url: str, rounds: int) -> list[float]:
    client.get(url)  # warm: the page's first request pays the store's caches
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 500:
            raise SystemExit(f"web_bench: {url} answered {response.status_code}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    args = parser.parse_args()
    path = args.db or ROOT / ".bench-cache" / f"web-{args.n}.db"
    built = build(path, args.n, args.rebuild)
    if built:
        print(f"built {path}: {args.n:,} articles in {built:.0f} s", file=sys.stderr)

    import warnings

    warnings.filterwarnings("ignore", module="starlette.testclient")
    from starlette.testclient import TestClient

    from web.app import create_app

    store = SqliteStore(path)
    with tempfile.TemporaryDirectory() as tmp:
        settings = workspace(store, Path(tmp))
        app = create_app(settings, clock=lambda: END)  # "last 7 days" = the corpus's last week
        client = TestClient(app, base_url="http://127.0.0.1")
        results: dict[str, dict[str, float]] = {}
        for name, url in pages(store).items():
            ms = timed(client, url, args.rounds)
            results[name] = {
                "median_ms": round(statistics.median(ms), 1),
                "max_ms": round(max(ms), 1),
            }
            flag = "" if statistics.median(ms) < TARGET_MS else "  (over the target)"
            print(
                f"{name:<34} median {statistics.median(ms):7.1f} ms   worst {max(ms):7.1f} ms"
                f"{flag}",
                file=sys.stderr,
            )
        actor = next(k for k in results if k.startswith("actor:") and "(a year)" in k)
        name = actor.removeprefix("actor: ").removesuffix(" (a year)")
        query = f'actor:"{name}"'
        chart = [0.0] * args.rounds
        for i in range(args.rounds):
            started = time.perf_counter()
            store.aggregate(query, histogram="day")
            chart[i] = (time.perf_counter() - started) * 1000
        print(
            f"{'actor chart, a year (histogram)':<34} median {statistics.median(chart):7.1f} ms",
            file=sys.stderr,
        )
    store.close()
    medians = [r["median_ms"] for r in results.values()]
    print(
        json.dumps(
            {
                "articles": args.n,
                "store": "sqlite",
                "rounds": args.rounds,
                "pages": results,
                "slowest_page_median_ms": max(medians),
                "pages_over_target": [k for k, r in results.items() if r["median_ms"] >= TARGET_MS],
                "actor_year_chart_ms": round(statistics.median(chart), 1),
                "actor_year_page_ms": results[actor]["median_ms"],
                "targets": {"page_ms": TARGET_MS, "actor_chart_ms": CHART_TARGET_MS},
                "load_average": os.getloadavg()[0],
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
