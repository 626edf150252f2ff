"""A process that served reads exits cleanly (no C++ terminate from DuckDB cursors left in threads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_process_exits_zero_after_serving_v2_observation_pages():
    code = textwrap.dedent("""
        import lfnb
        from lfnb.local import serve
        with serve(traces=2000, days=10) as s:
            lf = lfnb.connect(base_url=s.base_url, public_key=s.public_key, secret_key=s.secret_key)
            df = lf.read_observations(from_time="2000-01-01", fields=("core", "basic", "model"))
            print(len(df))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.strip()) > 0
    assert "terminate called" not in proc.stderr
