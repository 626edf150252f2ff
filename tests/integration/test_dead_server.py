"""A server that goes away mid-session: parallel reads fail as fast as sequential ones (reliability D1)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("lfnb.local.server")

import lfnb  # noqa: E402
from lfnb.errors import TransportError  # noqa: E402
from lfnb.local import serve  # noqa: E402

pytestmark = pytest.mark.integration

SMALL = dict(seed=0, traces=50, days=2, anchor=pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime())


@pytest.mark.parametrize("read", ["read_observations", "read_scores"])
def test_dead_server_costs_workers_8_no_more_attempts_than_workers_1(read):
    attempts = {}
    for workers in (1, 8):
        with serve(port=0, generation="v4", **SMALL) as server:
            lf = lfnb.connect(server.base_url, server.public_key, server.secret_key, max_retries=3)
            lf.transport.backoff = lf.transport.max_backoff = 0.01
            assert lf.generation == "v4"
        before = lf.transport.requests
        with pytest.raises(TransportError, match="got no answer .* after 4 attempts"):
            getattr(lf, read)("2026-10-01", "2026-11-01", workers=workers, progress=False)
        attempts[workers] = lf.transport.requests - before
    assert attempts[1] == 4
    # was 8 workers x up to 6 split levels, each spending every retry (420 attempts in the probe)
    assert attempts[8] == attempts[1]
