"""`python -m apps.model.train` shows progress and a time estimate when stderr is a terminal (a pseudo-terminal
here), and writes none of it when stderr is a pipe (logs, CI)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from apps.model.training import TrainingConfig
from tests.integration.conftest import DRIVES, MODEL_DRIVES

pytestmark = pytest.mark.integration


@pytest.fixture
def two_drives(tmp_path: Path) -> Path:
    if not DRIVES.is_dir():
        pytest.skip(f"the shared Idneo drives are not at {DRIVES}")
    folder = tmp_path / "drives"
    folder.mkdir()
    for name in MODEL_DRIVES:
        (folder / name).symlink_to(DRIVES / name)
    return folder


def train(drives: Path, out: Path, stderr: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "apps.model.train", "--drives", str(drives), "--out", str(out),
                           "--rounds", "1", "--no-evaluation", "--version", "progress-test"],
                          stdout=subprocess.PIPE, stderr=stderr, timeout=300, check=False)


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed: everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_sees_progress_and_an_estimate(two_drives: Path, tmp_path: Path) -> None:
    config = TrainingConfig()
    # a cross model per calibration fold (at most one per drive), then the final cross and impute models
    total = (min(config.calibration_folds, len(MODEL_DRIVES)) + 2) * len(config.sensors)
    controller, terminal = pty.openpty()
    try:
        result = train(two_drives, tmp_path / "out", stderr=terminal)
        os.close(terminal)
        screen = read_all(controller)
    finally:
        os.close(controller)
    assert result.returncode == 0, screen
    frames = [frame.replace("\x1b[K", "").strip() for frame in screen.split("\r") if frame.strip()]
    assert frames[0].startswith(f"training: 0/{total} boosters (0%)")
    assert any(" boosters (" in frame and "left" in frame for frame in frames[1:-1])  # an estimate on the way
    assert frames[-1].startswith(f"training: {total}/{total} boosters (100%)")
    assert b"training:" not in result.stdout  # the result line stays clean on stdout


def test_a_pipe_gets_no_progress(two_drives: Path, tmp_path: Path) -> None:
    result = train(two_drives, tmp_path / "out", stderr=subprocess.PIPE)
    assert result.returncode == 0
    assert result.stderr == b""
    assert b"trained on 2 drives" in result.stdout
