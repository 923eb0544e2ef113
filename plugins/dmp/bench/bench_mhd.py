"""Micro-benchmark of the DMP's MHD round trips: ITI-67 search, ITI-68 retrieve and ITI-65 provide,
through the portal's client, against the embedded service in-process (`httpx.ASGITransport`, as the
portal calls it when `BOUQUET_DMP_URL` is unset) and served by uvicorn over loopback HTTP (as
`bouquet dmp-service` runs it).

    .venv/bin/python plugins/dmp/bench/bench_mhd.py            # --documents N --runs N

One patient's DMP holds `--documents` text documents (plus the demo's seven) in a migrated SQLite
file. Each figure is the median of `--runs` calls (the machine may be shared); every call is
complete: identity signed and checked, access rules applied, access traced, Bundle validated both
ways with the FHIR R4B models.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout without install

from bouquet_dmp import demo  # noqa: E402
from bouquet_dmp.config import DmpSettings  # noqa: E402
from bouquet_dmp.identity import Caller, key_for  # noqa: E402
from bouquet_dmp.mhd_client import MhdClient  # noqa: E402
from bouquet_dmp.models import DmpDocument  # noqa: E402
from bouquet_dmp.pdf import text_pdf  # noqa: E402
from bouquet_dmp.service import create_service  # noqa: E402
from bouquet_dmp.testing import MARTIN, MARTIN_INS  # noqa: E402

from bouquet.api.db import Database  # noqa: E402
from bouquet.api.migrations import upgrade  # noqa: E402
from bouquet.api.plugins import Plugins  # noqa: E402
from bouquet.testing.fixtures import free_port, serve  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdefghijklmnop"


def fill(db: Database, count: int) -> None:
    demo.load(db, (MARTIN,))
    with db.write() as session:
        for n in range(count):
            body = f"Compte rendu n° {n}\n".encode() * 20
            doc_id = str(uuid.uuid4())
            session.add(DmpDocument(id=doc_id, patient_ins=MARTIN_INS, type_code="11488-4", class_code="compte-rendu",
                                    title=f"Compte rendu {n}", content_type="text/plain", size=len(body),
                                    sha1=base64.b64encode(hashlib.sha1(body).digest()).decode(), content=body,  # noqa: S324
                                    author_name="Dr Bench", author_idnat="899900000011", service_date=date(2026, 1, 1 + n % 28),
                                    submission_set_id=doc_id))


async def measure(client: MhdClient, runs: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {"search": [], "retrieve": [], "provide": []}
    pdf = text_pdf("Bench", ["ligne"] * 40) + b"%" + b"x" * 100_000
    entries = await client.find()
    for _ in range(runs):
        start = time.perf_counter()
        entries = await client.find()
        timings["search"].append(time.perf_counter() - start)
        start = time.perf_counter()
        await client.retrieve(entries[0])
        timings["retrieve"].append(time.perf_counter() - start)
        start = time.perf_counter()
        await client.provide(type_code="11502-2", title="Bench", content_type="application/pdf", data=pdf, service_date=date(2026, 11, 1))
        timings["provide"].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/bench.db")
        upgrade(db.engine, Plugins(["dmp"]))
        fill(db, args.documents)
        service = create_service(db, SECRET)
        caller = Caller(sub="account:1", name="Dr Bench", kind="professional", patient=MARTIN_INS, idnat="899900000011", profession="10")
        settings = DmpSettings(url=None)
        embedded = MhdClient("http://dmp.embedded", caller, key_for(SECRET), settings, transport=httpx.ASGITransport(app=service))
        port = free_port()
        stop = serve(service, port)
        try:
            http = MhdClient(f"http://127.0.0.1:{port}", caller, key_for(SECRET), settings)
            results = {"in-process": asyncio.run(measure(embedded, args.runs)),
                       "loopback HTTP": asyncio.run(measure(http, args.runs))}
        finally:
            stop()
            db.dispose()
    print(f"DMP MHD round trips, {args.documents + 7} documents, median of {args.runs} "
          f"(Python {platform.python_version()}, SQLite)")
    print("| transport | ITI-67 search (ms) | ITI-68 retrieve (ms) | ITI-65 provide 100 kB PDF (ms) |")
    print("| --- | --- | --- | --- |")
    for name, figures in results.items():
        print(f"| {name} | {figures['search']:.1f} | {figures['retrieve']:.1f} | {figures['provide']:.1f} |")


if __name__ == "__main__":
    main()
