"""The README's first command: ``saleor-delivery-otp story``."""

import os
import re
import subprocess
import sys


def run_cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "saleor_delivery_otp.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    return result


def test_story_plays_the_whole_delivery():
    result = run_cli("story")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    emailed = re.search(r"\|\s+(\d{6})\n", out)
    assert emailed, out
    code = emailed.group(1)
    assert (
        "parcel 1 (Smartphone X, tracking SBX-TRACK-1): takes the order's code" in out
    )
    assert "parcel 2 (USB-C cable, tracking SBX-TRACK-2): needs no code" in out
    assert f"parcel 1: status active, code {code}," in out
    assert "answer: accepted=False, attempts left 4" in out
    assert "answer: accepted=True: the parcel is handed over" in out
    assert "answer: accepted=False: a code works once" in out
    assert "policy: no code, nothing changes" in out
    assert out.rstrip().endswith("Story complete: every step as expected.")


def test_story_keeps_its_data_where_asked(tmp_path):
    result = run_cli("story", "--data-dir", str(tmp_path / "data"))

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "delivery-otp.sqlite3").exists()
    key_file = tmp_path / "data" / "delivery-otp.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert key_file.read_text() not in result.stdout


def test_data_dir_that_is_a_file_is_a_clear_error(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")

    result = run_cli("story", "--data-dir", str(a_file))

    assert result.returncode == 2
    assert "cannot be written" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_refused_with_usage():
    result = run_cli("fly")

    assert result.returncode == 2
    assert "invalid choice: 'fly'" in result.stderr
    assert "usage: saleor-delivery-otp" in result.stderr
