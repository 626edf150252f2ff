"""Records → DataFrame: the column contract (:mod:`.columns`) and the typed builder (:mod:`.builder`).

``lfnb.frames`` keeps the names it always had; the two modules say where each lives.
"""

from lfnb.frames.builder import (
    FrameBuilder,
    build_frame,
    columns_for,
    convert,
    dtype_table,
    empty_frame,
)
from lfnb.frames.columns import (
    DTYPES,
    DYNAMIC_PREFIXES,
    OBSERVATION_GROUPS,
    SPECS,
    column_table,
    document_columns,
    observation_columns,
    spec,
)

__all__ = [
    "DTYPES", "DYNAMIC_PREFIXES", "OBSERVATION_GROUPS", "SPECS", "FrameBuilder", "build_frame", "column_table",
    "columns_for", "convert", "document_columns", "dtype_table", "empty_frame", "observation_columns",
    "spec",
]
