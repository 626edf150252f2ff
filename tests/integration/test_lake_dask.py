"""``Lake.dask`` on a ``distributed.LocalCluster`` of 2 worker processes: same dtypes, same answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pandas.testing as pdt
import pytest

import lfnb
from lfnb.local import serve

distributed = pytest.importorskip("distributed", reason="the lake extra: pip install 'lfnb[lake]'")

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


def test_dask_over_the_lake_on_a_local_cluster(tmp_path):
    with serve(port=0, generation="v4", seed=3, traces=120, days=3, anchor=ANCHOR) as server:
        lf = lfnb.connect(server.base_url, server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"])
        lf.sync(tmp_path, since="2026-10-28", until="2026-11-01", resources=["observations", "scores"])
    lake = lfnb.open_lake(tmp_path)
    frame = lake.read("observations")
    ddf = lake.dask("observations")
    assert ddf.npartitions == 3                                     # one per day
    assert dict(ddf.dtypes) == dict(frame.dtypes)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        by_type = ddf.groupby("type")["totalCost"].sum().compute().sort_index()
        everything = ddf.compute()
    expected = frame.groupby("type")["totalCost"].sum().sort_index()
    pdt.assert_series_equal(by_type, expected, check_dtype=False, rtol=1e-12)
    order = ["startTime", "id"]
    pdt.assert_frame_equal(everything.sort_values(order).reset_index(drop=True),
                           frame.sort_values(order).reset_index(drop=True))
    assert isinstance(everything["metadata"].dropna().iloc[0], dict)
    assert everything["startTime"].dtype == pd.DatetimeTZDtype("us", "UTC")
    with pytest.raises(lfnb.LfnbError, match="no stored resource 'traces'.*valid: observations, scores"):
        lake.dask("traces")
