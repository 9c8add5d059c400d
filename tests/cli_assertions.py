"""Assertions shared by the command-line tests."""

from __future__ import annotations


def assert_one_line_error(result, *fragments: str) -> None:
    """Bad input: exit code 2, one line on stderr starting with ``error:`` and holding every fragment, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
