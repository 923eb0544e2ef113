"""Two workers on one database: a handle created by one is consumed by the other, and when both
receive the same handle at the same moment exactly one of them opens the patient."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from sqlmodel import func, select

from bouquet.patient.context import PatientContextRecord
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.testing.fixtures import BouquetClient

HTML = {"Accept": "text/html"}


def test_two_workers_race_for_one_handle_and_only_one_wins(make_app, app, launcher, doctor):
    other = make_app(base_url="http://localhost")  # a second worker: same database, its own engine
    clients = [BouquetClient(worker, base_url="http://testserver.local", follow_redirects=False).login(doctor)
               for worker in (app, other)]
    rounds = 6
    outcomes: list[list[int]] = []
    try:
        for n in range(rounds):
            url = urlsplit(launcher.launch_url(doctor.idnat_ps, DEMO_PATIENTS[n % len(DEMO_PATIENTS)]))
            link = f"{url.path}?{url.query}"
            barrier = threading.Barrier(len(clients))
            statuses: list[int] = [0] * len(clients)

            def follow(i: int, link: str = link, barrier: threading.Barrier = barrier,
                       statuses: list[int] = statuses) -> None:
                barrier.wait()
                statuses[i] = clients[i].get(link, headers=HTML).status_code

            threads = [threading.Thread(target=follow, args=(i,)) for i in range(len(clients))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            outcomes.append(sorted(statuses))
    finally:
        for client in clients:
            client.close()
    assert outcomes == [[303, 409]] * rounds
    with app.state.db.session() as session:
        assert session.exec(select(func.count()).select_from(PatientContextRecord)).one() == rounds
