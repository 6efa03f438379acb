"""The one place that reads the environment: a variable set gives its value, unset or
blank gives the default, and docs/deployment.md names the same variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lottrack.kernel import environment
from lottrack.kernel.config_file import config_path
from lottrack.kernel.locations import default_url
from lottrack.kernel.logs import log_dir
from lottrack.storage.anchors import default_checkpoint_dir
from lottrack.storage.facility_key import default_key_dir
from tui.pharmacy.documents import documents_dir, label_printer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in environment.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_variable_set_is_read(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        environment.DATABASE_URL: "postgresql://app@db/lottrack",
        environment.CONFIG: str(tmp_path / "lottrack.toml"),
        environment.KEY_DIR: str(tmp_path / "keys"),
        environment.CHECKPOINT_DIR: str(tmp_path / "checkpoints"),
        environment.DOCUMENTS_DIR: str(tmp_path / "documents"),
        environment.LOG_DIR: str(tmp_path / "log"),
        environment.LABEL_PRINTER: "printer:9100",
        environment.USER: "qa-anna",
        environment.LOGIN_USER: "lottrack",
    }
    for name, value in values.items():
        clean.setenv(name, value)
    assert environment.read() == environment.Environment(
        database_url="postgresql://app@db/lottrack",
        config=tmp_path / "lottrack.toml",
        key_dir=tmp_path / "keys",
        checkpoint_dir=tmp_path / "checkpoints",
        documents_dir=tmp_path / "documents",
        log_dir=tmp_path / "log",
        label_printer="printer:9100",
        user="qa-anna",
        login_user="lottrack",
    )
    # and the modules that use them see the same
    assert default_url() == "postgresql+psycopg://app@db/lottrack"
    assert config_path() == tmp_path / "lottrack.toml"
    assert default_key_dir() == tmp_path / "keys"
    assert default_checkpoint_dir() == tmp_path / "checkpoints"
    assert documents_dir() == tmp_path / "documents"
    assert log_dir() == tmp_path / "log"
    assert label_printer() == "printer:9100"


@pytest.mark.parametrize("blank", [None, "", "   "], ids=["unset", "empty", "spaces"])
def test_unset_or_blank_gives_the_default(
    clean: pytest.MonkeyPatch, blank: str | None, tmp_path: Path
) -> None:
    if blank is not None:
        for name in environment.VARIABLES:
            clean.setenv(name, blank)
    read = environment.read()
    assert all(value is None for value in vars(read).values())
    assert config_path() is None
    assert default_url().startswith("sqlite:///")
    assert default_url().endswith("lottrack.db")
    assert default_key_dir().name == "keys"
    assert default_checkpoint_dir() == default_key_dir()
    assert documents_dir().name == "documents"
    assert label_printer() is None


def test_a_change_is_seen_at_the_next_read(clean: pytest.MonkeyPatch) -> None:
    clean.setenv(environment.LABEL_PRINTER, "one:9100")
    assert environment.read().label_printer == "one:9100"
    clean.setenv(environment.LABEL_PRINTER, "two:9100")
    assert environment.read().label_printer == "two:9100"


def test_a_home_folder_is_expanded(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean.setenv("HOME", str(tmp_path))
    clean.setenv(environment.KEY_DIR, "~/keys")
    assert default_key_dir() == tmp_path / "keys"


def test_the_deployment_guide_names_every_variable_read() -> None:
    table = DOCS.read_text().split("## 6. The environment variables", 1)[1]
    documented = set(re.findall(r"^\| `(LOTTRACK_[A-Z_]+)` \|", table, re.MULTILINE))
    assert documented == {name for name in environment.VARIABLES if name.startswith("LOTTRACK_")}
