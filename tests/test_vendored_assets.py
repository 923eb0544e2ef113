"""The vendored front-end assets (static/vendor/) match their manifest.

The checks live in scripts/vendor-assets (a script, not a module): it is
loaded here with runpy so the test and `scripts/vendor-assets --check` run
the same code.
"""

import hashlib
import json
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "vendor-assets"
VENDOR = ROOT / "static" / "vendor"

VA = runpy.run_path(str(SCRIPT), run_name="vendor_assets")


def manifest():
    return json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_matches_files_on_disk():
    assert VA["verify"](VENDOR) == []
    m = manifest()
    assert set(m) == {"@gouvfr/dsfr", "htmx.org"}
    for entry in m.values():
        for sha in entry["files"].values():
            assert re.fullmatch(r"[0-9a-f]{64}", sha)


def test_expected_entry_points_are_vendored():
    files = set(manifest()["@gouvfr/dsfr"]["files"]) | set(manifest()["htmx.org"]["files"])
    for rel in (
        "dsfr/dsfr.min.css",
        "dsfr/utility/icons/icons.min.css",
        "dsfr/dsfr.module.min.js",
        "dsfr/dsfr.nomodule.min.js",
        "dsfr/fonts/Marianne-Regular.woff2",
        "dsfr/favicon/favicon.svg",
        "htmx/htmx.min.js",
    ):
        assert rel in files, rel
    assert not any(p.endswith(".map") for p in files)


def test_every_css_url_resolves():
    errors, checked = VA["check_css_urls"](VENDOR)
    assert errors == []
    # 20 fonts + 1038 icons in DSFR 1.15: guard against a vacuous pass.
    assert checked > 1000


def test_css_url_parser_handles_quotes_data_and_comments():
    css = (
        '/* url(comment.svg) */ a{background:url("data:image/svg+xml;'
        "charset=utf-8,<svg transform='rotate(45)'/>\")}"
        "b{src:url(../fonts/x.woff2) format('woff2'),url('y.woff?v=1#z')}"
        '@import "c.css";'
    )
    assert VA["css_references"](css) == [
        "data:image/svg+xml;charset=utf-8,<svg transform='rotate(45)'/>",
        "../fonts/x.woff2",
        "y.woff?v=1#z",
        "c.css",
    ]


def test_htmx_version_matches_manifest():
    js = (VENDOR / "htmx" / "htmx.min.js").read_text(encoding="utf-8")
    found = re.findall(r'version:\s*"([^"]+)"', js)
    assert found == [manifest()["htmx.org"]["version"]]
    assert found[0].startswith("2.")


def test_dsfr_version_banner_matches_manifest():
    version = manifest()["@gouvfr/dsfr"]["version"]
    for name in ("dsfr.min.css", "dsfr.module.min.js", "dsfr.nomodule.min.js"):
        head = (VENDOR / "dsfr" / name).read_text(encoding="utf-8")[:200]
        assert f"DSFR v{version}" in head, name


def test_check_detects_tampering(tmp_path):
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    (copy / "htmx" / "htmx.min.js").write_text("tampered", encoding="utf-8")
    (copy / "dsfr" / "fonts" / "Marianne-Bold.woff2").unlink()
    (copy / "dsfr" / "extra.js").write_text("", encoding="utf-8")

    errors = VA["verify"](copy)
    text = "\n".join(errors)
    assert "mismatch: htmx/htmx.min.js" in text
    assert "missing: dsfr/fonts/Marianne-Bold.woff2" in text
    assert "unexpected: dsfr/extra.js" in text
    # the CSS font reference no longer resolves either
    assert "-> missing file dsfr/fonts/Marianne-Bold.woff2" in text

    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--vendor-dir", str(copy)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "htmx/htmx.min.js" in proc.stderr
    assert "dsfr/fonts/Marianne-Bold.woff2" in proc.stderr


def test_check_passes_from_the_command_line():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK:")


def test_aggregate_hash_definition():
    files = {"p/b.woff": "b" * 64, "p/a.svg": "a" * 64, "p/x.js": "c" * 64}
    expected = hashlib.sha256(
        f"{'a' * 64}  p/a.svg\n{'b' * 64}  p/b.woff\n".encode()
    ).hexdigest()
    assert VA["aggregate_sha256"](files) == expected
