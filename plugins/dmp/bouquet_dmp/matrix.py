"""The DMP's access matrix (« matrice d'habilitations »): profession × document type → may read, as a
versioned, dated data file whose every row cites its source.

A matrix version is two files side by side: `<name>.csv` (columns `version_id`, `profession_code`,
`type_code`, `access` = yes / no / unsourced, `basis`, `source`, and any others, kept for the
reader) and `<name>.meta.json` (`version_id`, `text.title`, `text.date_signed`, `text.published`,
`status`…). The setting `BOUQUET_DMP_MATRIX` names the CSV to enforce (default: the bundled
`data/habilitations/matrix-2023-10-26.csv`); an operator loads a new version (the corrected arrêté
expected after the Conseil d'État's decision of 15 October 2025) by installing its files and
pointing the setting at them, with no code change; `bouquet dmp-matrix check FILE` validates a
file first. A file that does not validate is never half-used: every decision then denies, saying so.

`unsourced` cells, and professions or types the file does not list, deny: « accès non déterminé
par les textes chargés ». Only `yes`, with its source, grants.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bouquet_dmp.doctypes import DATA, types

DEFAULT_FILE = DATA / "matrix-2023-10-26.csv"
SETTING = "BOUQUET_DMP_MATRIX"
YES, NO, UNSOURCED = "yes", "no", "unsourced"
REQUIRED_COLUMNS = ("version_id", "profession_code", "type_code", "access", "basis", "source")
#: The matrix's row for people who are not health professionals and act for one.
SECRETARY = "secretaire"
UNDETERMINED = "accès non déterminé par les textes chargés"

log = logging.getLogger("bouquet.dmp")


class MatrixError(ValueError):
    """A matrix file that cannot be enforced; `problems` lists each fault (line numbers included)."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
        self.path, self.problems = path, problems


@dataclass(frozen=True)
class Cell:
    access: str
    basis: str
    source: str


@dataclass(frozen=True)
class Decision:
    """Whether a profession may read a document type, and why, in French."""

    allowed: bool
    access: str
    reason: str
    source: str = ""


@dataclass(frozen=True)
class Matrix:
    version_id: str
    title: str
    date_signed: str | None
    path: Path
    meta: dict[str, Any] = field(repr=False)
    cells: dict[tuple[str, str], Cell] = field(repr=False)

    def decide(self, profession: str | None, type_code: str) -> Decision:
        cell = self.cells.get((profession or "", type_code))
        if cell is None:
            return Decision(False, UNSOURCED, f"{UNDETERMINED} (profession ou type absent de la version {self.version_id})")
        if cell.access == YES:
            return Decision(True, YES, f"autorisé par la matrice d'habilitations ({self.version_id})", cell.source)
        if cell.access == NO:
            return Decision(False, NO, f"non autorisé par la matrice d'habilitations ({self.version_id})", cell.source)
        return Decision(False, UNSOURCED, UNDETERMINED, cell.source)

    def counts(self) -> dict[str, int]:
        return dict(Counter(cell.access for cell in self.cells.values()))

    def professions(self) -> list[str]:
        return sorted({profession for profession, _ in self.cells})


def meta_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name.removesuffix(".csv") + ".meta.json")


def read(path: Path) -> Matrix:
    """The matrix in `path` (and its `.meta.json`), fully checked; raises MatrixError listing every fault."""
    problems: list[str] = []
    try:
        meta = json.loads(meta_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MatrixError(path, [f"fichier de métadonnées absent : {meta_path(path).name}"]) from None
    except ValueError as exc:
        raise MatrixError(path, [f"{meta_path(path).name} n'est pas un JSON valide ({exc})"]) from None
    text = meta.get("text") if isinstance(meta, dict) else None
    version_id = meta.get("version_id") if isinstance(meta, dict) else None
    if not isinstance(version_id, str) or not version_id:
        problems.append("métadonnées : version_id manquant")
    if not isinstance(text, dict) or not text.get("title"):
        problems.append("métadonnées : text.title (le texte officiel cité) manquant")
        text = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise MatrixError(path, [f"colonnes manquantes : {', '.join(missing)}"])
            rows = list(reader)
    except FileNotFoundError:
        raise MatrixError(path, ["fichier introuvable"]) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MatrixError(path, [f"CSV illisible ({exc})"]) from None
    known = types()
    cells: dict[tuple[str, str], Cell] = {}
    for line, row in enumerate(rows, start=2):
        profession, type_code = (row["profession_code"] or "").strip(), (row["type_code"] or "").strip()
        access, source = (row["access"] or "").strip(), (row["source"] or "").strip()
        if row["version_id"] != version_id:
            problems.append(f"ligne {line} : version_id « {row['version_id']} » ≠ « {version_id} » (métadonnées)")
        if not profession:
            problems.append(f"ligne {line} : profession_code vide")
        if type_code not in known:
            problems.append(f"ligne {line} : type « {type_code} » absent des types du DMP (document-types.csv)")
        if access not in (YES, NO, UNSOURCED):
            problems.append(f"ligne {line} : access « {access} » (attendu yes, no ou unsourced)")
        if access in (YES, NO) and not source:
            problems.append(f"ligne {line} : une cellule {access} doit citer sa source")
        if not (row["basis"] or "").strip():
            problems.append(f"ligne {line} : basis vide")
        if (profession, type_code) in cells:
            problems.append(f"ligne {line} : cellule {profession} × {type_code} en double")
        cells[(profession, type_code)] = Cell(access, (row["basis"] or "").strip(), source)
    if not rows:
        problems.append("aucune ligne")
    if problems:
        raise MatrixError(path, problems)
    assert isinstance(version_id, str)
    return Matrix(version_id, str(text["title"]), text.get("date_signed"), path, meta, cells)


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int, size: int) -> Matrix | MatrixError:
    try:
        matrix = read(Path(path))
    except MatrixError as exc:
        log.error("DMP access matrix refused, every access is denied: %s", exc)
        return exc
    counts = matrix.counts()
    if counts.get(UNSOURCED):
        log.warning("DMP access matrix %s: %d of %d cells are unsourced and deny access",
                    matrix.version_id, counts[UNSOURCED], len(matrix.cells))
    return matrix


def configured_path() -> Path:
    return Path(os.environ.get(SETTING) or DEFAULT_FILE)


def current() -> Matrix | MatrixError:
    """The matrix the setting names now (re-read when the file changes), or why it cannot be used."""
    path = configured_path()
    try:
        stat = path.stat()
    except OSError:
        return MatrixError(path, ["fichier introuvable"])
    return _cached(str(path), stat.st_mtime_ns, stat.st_size)


def decide(profession: str | None, type_code: str) -> Decision:
    """The current matrix's answer for one cell; a matrix that cannot be used denies, saying so."""
    matrix = current()
    if isinstance(matrix, MatrixError):
        return Decision(False, UNSOURCED, f"{UNDETERMINED} (matrice d'habilitations inutilisable : voir le journal)")
    return matrix.decide(profession, type_code)
