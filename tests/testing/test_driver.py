"""A Playwright driver that cannot start says why (instead of Playwright's "Connection closed")."""

from __future__ import annotations

import pytest

from bouquet.testing.browser import check_driver, driver_node


def test_a_driver_missing_a_library_fails_with_its_own_error_and_the_fix(tmp_path):
    node = tmp_path / "node"
    # What the dynamic loader prints on a minimal Debian 12 without libatomic1.
    node.write_text("#!/bin/sh\necho 'node: error while loading shared libraries: libatomic.so.1: "
                    "cannot open shared object file: No such file or directory' >&2\nexit 127\n")
    node.chmod(0o755)
    with pytest.raises(RuntimeError) as raised:
        check_driver(node)
    message = str(raised.value)
    assert "libatomic.so.1: cannot open shared object file" in message and "status 127" in message
    assert "scripts/install-system-deps" in message


def test_a_driver_that_is_not_there_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(RuntimeError, match="nowhere/node"):
        check_driver(tmp_path / "nowhere" / "node")


def test_the_installed_driver_starts():
    check_driver(driver_node())


def test_install_system_deps_installs_libatomic1_when_missing():
    from pathlib import Path

    script = (Path(__file__).parent.parent.parent / "scripts" / "install-system-deps").read_text()
    assert "needed+=(libatomic1)" in script and "has_libatomic" in script
