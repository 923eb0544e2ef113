import pytest

from bouquet.foundation.settings import SettingsError, load_settings


@pytest.mark.parametrize("name, value, says", [
    ("BOUQUET_DATABASE_URL", "mysql://x/y", "sqlite:/// or postgresql+psycopg://"),
    ("BOUQUET_BASE_URL", "bouquet.example.fr", "absolute http(s) URL"),
    ("BOUQUET_BASE_URL", "https://bouquet.example.fr/portal", "origin only"),
    ("BOUQUET_SECRET_KEY", "short", "at least 32 characters"),
    ("BOUQUET_SESSION_IDLE_MINUTES", "0", "greater than or equal to 1"),
    ("BOUQUET_LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING, ERROR"),
])
def test_bad_value_is_named_with_the_reason(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert name in str(caught.value) and says in str(caught.value)


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite:///var/bouquet.foundation.db"
    assert settings.plugin_names is None
    assert len(settings.secret_key) >= 32
    assert load_settings().secret_key == settings.secret_key  # kept in ./var, shared by workers
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_plugins_list(monkeypatch):
    monkeypatch.setenv("BOUQUET_PLUGINS", " dmp, prevention ,")
    assert load_settings().plugin_names == ["dmp", "prevention"]
    monkeypatch.setenv("BOUQUET_PLUGINS", "")
    assert load_settings().plugin_names == []


def test_postgresql_url_gets_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("BOUQUET_DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().database_url == "postgresql+psycopg://u@h/db"


def test_cli_reports_a_bad_setting_and_exits_2(monkeypatch, capsys):
    from bouquet.cli import main

    monkeypatch.setenv("BOUQUET_BASE_URL", "nope")
    monkeypatch.setattr("sys.argv", ["bouquet", "audit", "verify"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "BOUQUET_BASE_URL: must be an absolute http(s) URL" in capsys.readouterr().err
