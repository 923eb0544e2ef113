"""The signed identity the portal presents on every DMP call, and the content checks of uploads."""

from __future__ import annotations

import time

import pytest
from bouquet_dmp.content import PDF, TEXT, UPLOADABLE, ContentError, check, sniff
from bouquet_dmp.identity import Caller, IdentityError, key_for, sign, verify

KEY = key_for("a-secret-of-at-least-thirty-two-characters")
CALLER = Caller(sub="account:1 (Dr A)", name="Dr A", kind="professional", patient="1.2.250.1.213.1.4.10|260106912304512",
                idnat="810000000066", profession="10")


def test_round_trip_and_refusals():
    value = sign(CALLER, KEY)
    assert verify(value, KEY).idnat == "810000000066"
    with pytest.raises(IdentityError, match="signature"):
        verify(value, key_for("another-secret-of-thirty-two-characters!"))
    with pytest.raises(IdentityError, match="expirée"):
        verify(value, KEY, now=time.time() + 3600)
    with pytest.raises(IdentityError, match="absente"):
        verify(None, KEY)
    payload, signature = value.split(".")
    with pytest.raises(IdentityError):
        verify(payload[:-2] + "xx." + signature, KEY)


def test_secretary_reads_with_the_secretary_row_of_the_matrix():
    secretary = Caller(sub="s", name="S", kind="secretary", patient=CALLER.patient, for_idnat="810000000066")
    assert secretary.matrix_profession == "secretaire" and CALLER.matrix_profession == "10"


def test_content_is_recognised_by_its_bytes():
    assert sniff(b"%PDF-1.7 ...") == PDF and sniff("Compte rendu\n".encode()) == TEXT
    assert sniff(b"\x89PNG\r\n") is None and sniff(b"\xff\xfe\x00") is None
    assert check(b"%PDF-1.4", "application/pdf", UPLOADABLE, 100) == PDF
    with pytest.raises(ContentError, match="taille maximale"):
        check(b"x" * 101, "text/plain", UPLOADABLE, 100)
    with pytest.raises(ContentError, match="ne correspond pas"):
        check(b"%PDF-1.4", "text/plain", UPLOADABLE, 100)
    with pytest.raises(ContentError, match="PDF ou un texte"):
        check(b'<?xml version="1.0"?><ClinicalDocument/>', "text/xml", UPLOADABLE, 1000)
