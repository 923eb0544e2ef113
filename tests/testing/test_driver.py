"""A Playwright driver that cannot start says why (instead of Playwright's "Connection closed")."""

from __future__ import annotations

import pytest

from bouquet.testing.browser import check_driver, driver_cli, driver_node


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


def test_a_driver_whose_script_cannot_run_fails_with_node_s_own_error(tmp_path):
    # The real Node.js of the driver starts, but the driver's script is not where the package says.
    missing = tmp_path / "package" / "cli.js"
    with pytest.raises(RuntimeError) as raised:
        check_driver(driver_node(), missing)
    message = str(raised.value)
    assert "Cannot find module" in message and str(missing) in message and "status 1" in message


def test_a_node_that_only_answers_its_version_is_not_taken_for_a_working_driver(tmp_path):
    node = tmp_path / "node"
    node.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo v20.0.0; exit 0; }\n'
                    'echo "node: bad option: $1" >&2\nexit 9\n')
    node.chmod(0o755)
    with pytest.raises(RuntimeError, match="status 9: node: bad option: .*cli.js"):
        check_driver(node)


def test_the_check_runs_the_node_playwright_would_run(tmp_path, monkeypatch):
    node = tmp_path / "broken-node"
    node.write_text("#!/bin/sh\necho 'cannot execute: Exec format error' >&2\nexit 126\n")
    node.chmod(0o755)
    monkeypatch.setenv("PLAYWRIGHT_NODEJS_PATH", str(node))
    with pytest.raises(RuntimeError, match="status 126: cannot execute: Exec format error"):
        check_driver()
    assert driver_cli().is_file()


def test_install_system_deps_installs_libatomic1_when_missing():
    from pathlib import Path

    script = (Path(__file__).parent.parent.parent / "scripts" / "install-system-deps").read_text()
    assert "needed+=(libatomic1)" in script and "has_libatomic" in script
