"""The binary is built hardened, as Debian builds its packages: PIE, full RELRO (BIND_NOW),
non-executable stack, stack protector and fortified libc calls."""
import subprocess

import pytest

from harness import HERALD_BIN, SANITIZED


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args, HERALD_BIN], capture_output=True, text=True,
                          check=True).stdout


def test_binary_is_pie_with_full_relro_and_no_exec_stack():
    assert "DYN (Position-Independent Executable" in readelf("-h")
    dynamic = readelf("-d")
    assert "BIND_NOW" in dynamic and "PIE" in dynamic
    segments = readelf("-l")
    assert "GNU_RELRO" in segments
    stack = [line for line in segments.splitlines() if "GNU_STACK" in line]
    assert stack and "RWE" not in stack[0]


@pytest.mark.skipif(SANITIZED, reason="the sanitizers replace fortify and the stack protector")
def test_stack_protector_and_fortify():
    symbols = readelf("--dyn-syms")
    assert "__stack_chk_fail" in symbols
    assert "_chk@" in symbols, "no fortified libc calls: built without _FORTIFY_SOURCE"
