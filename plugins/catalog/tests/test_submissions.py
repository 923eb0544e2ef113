"""Bad inputs are refused with a French message naming the field, nothing is written; descriptions render as text;
images are served as what they are."""

from __future__ import annotations

import pytest
from bouquet_catalog import submissions
from bouquet_catalog.models import Image, Revision, Solution
from sqlmodel import func, select

from bouquet.api.web import Form


@pytest.mark.parametrize(("overrides", "files", "field_message"), [
    ({"category": "XYZ"}, None, "Catégorie : « XYZ » n&#39;est pas une catégorie connue."),
    ({"redirect_uris": "http://evil.example/cb"}, None, "Adresses de retour : « http://evil.example/cb » doit être une adresse https"),
    ({"description": "Bien.<script>alert(1)</script>"}, None, "Description : le texte ne doit pas contenir de balises HTML"),
    ({}, {"logo": ("logo.png", b"%PDF-1.4 not an image", "image/png")}, "Logo : ce fichier n&#39;est pas une image lisible"),
    ({}, {"logo": ("logo.png", b"\x89PNG" + b"0" * (1024 * 1024 + 10), "image/png")}, "Logo : le fichier pèse 1.0 Mo, le maximum est 1 Mo."),
])
def test_bad_inputs_are_refused_with_the_field_named(app, clients, vendor, h, overrides, files, field_message):
    seller = clients(vendor)
    response = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(**overrides), files=files)
    assert response.status_code == 400
    assert field_message in response.text
    with app.state.db.session() as session:
        assert session.exec(select(func.count()).select_from(Solution)).one() == 0
        assert session.exec(select(func.count()).select_from(Revision)).one() == 0


@pytest.mark.backends("sqlite")
def test_oversized_dimensions_and_formats(h):
    from bouquet_catalog import images

    assert "2000×2000" in images.check("logo", h.png(2000, 2000), "Logo")
    assert images.check("logo", h.png(64, 64, "WEBP"), "Logo").content_type == "image/webp"
    assert images.check("screenshot", h.png(800, 600, "JPEG"), "Capture").content_type == "image/jpeg"
    assert "PNG, JPEG et WebP" in images.check("logo", h.png(64, 64, "GIF"), "Logo")
    with pytest.raises(submissions.InvalidSubmission) as invalid:
        submissions.validate({**submissions.from_form(_form(h.form())), "jwks": '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'})
    assert "clé privée" in invalid.value.errors["jwks"]


def _form(fields):
    """The vendor form as `read_all` gives it: the checkboxes as lists."""
    values = dict(fields)
    for name in ("professions", "regions"):
        value = values.get(name)
        values[name] = value if isinstance(value, list) else ([value] if value else [])
    return Form(values)


def test_description_is_rendered_as_text_and_images_with_their_type(app, clients, vendor, operator, doctor, h):
    seller, reviewer, reader = clients(vendor), clients(operator), clients(doctor)
    response = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(), files={"logo": ("l.png", h.png(), "image/png")})
    solution_id = int(response.headers["location"].rsplit("/", 1)[1])
    # Written straight in the database (as an older import might have): the page still shows it as text.
    with app.state.db.write() as session:
        revision = session.get(Revision, session.get(Solution, solution_id).pending_revision_id)
        revision.content = {**revision.content, "description": "Premier.\n\n<script>alert('x')</script>"}
        session.add(revision)
    for name in ("start_review", "approve"):
        reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": name})
    page = reader.get(f"/p/catalog/solutions/{solution_id}").text
    assert "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>" in page and "<script>alert" not in page
    with app.state.db.session() as session:
        logo = session.exec(select(Image)).one()
    image = reader.get(f"/p/catalog/images/{logo.id}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff" and image.content == h.png()


def test_a_refused_form_shows_each_error_on_its_field_and_what_was_typed_in_nested_fields(clients, vendor, h):
    """A claim's error sits under its evidence field (the summary links there); the Ségur fields show what was typed."""
    seller = clients(vendor)
    refused = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(
        claim_hds_evidence="", claim_segur="1", segur_dsr_version="DSR LGC Vague 2 v1.1", segur_wave="vague-2"))
    page = refused.text
    assert refused.status_code == 400 and 'data-testid="form-errors"' in page
    assert '<a href="#claim_hds_evidence">' in page and 'id="claim_hds_evidence-error">' in page
    assert 'id="claim_hds_evidence" name="claim_hds_evidence" value=""' in page
    assert 'aria-describedby="claim_hds_evidence-error" aria-invalid="true"' in page
    assert 'value="AFNOR"' in page and 'value="DSR LGC Vague 2 v1.1"' in page and '<option value="vague-2" selected>' in page
    assert 'id="segur_couloir-error"' in page and '<a href="#segur_couloir">' in page


def test_a_stored_content_fills_the_fields_of_its_nested_values():
    shown = submissions.to_form({"name": "X", "segur": {"couloir": "medecin-ville", "wave": "vague-2"},
                                 "claims": {"hds": {"detail": "AFNOR", "evidence": "HDS-1", "status": "verified"}}})
    assert shown["segur_couloir"] == "medecin-ville" and shown["segur_wave"] == "vague-2"
    assert shown["claim_hds_detail"] == "AFNOR" and shown["claim_hds_evidence"] == "HDS-1"
    assert shown["claim_ce_evidence"] == "" and shown["name"] == "X"
