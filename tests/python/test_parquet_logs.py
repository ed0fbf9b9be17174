"""The outcome log's Parquet files, read as they stand by pyarrow (and polars / DuckDB when installed).

Point LLMGW_TEST_LOGS at a folder written by
`cargo run -p llmgw-outcomes --example sample_logs -- DIR`; without it the module is skipped.
"""

import json
import os
import re
from datetime import timezone
from pathlib import Path

import pytest

LOGS = os.environ.get("LLMGW_TEST_LOGS")
if not LOGS:
    pytest.skip("LLMGW_TEST_LOGS is not set", allow_module_level=True)

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

ROOT = Path(LOGS)
EXPECTED = json.loads((ROOT / "expected.json").read_text())


def dataset(root: Path, kind: str) -> ds.Dataset:
    return ds.dataset(root / kind, format="parquet", partitioning="hive")


def data_files(root: Path, kind: str) -> list[Path]:
    return sorted(p for p in (root / kind).rglob("*") if p.is_file())


def test_folder_layout_is_hive_partitioned_with_whole_files_only():
    for kind in ("outcomes", "feedback"):
        files = data_files(ROOT, kind)
        assert files, kind
        for f in files:
            assert re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", f.parent.name), f
            assert re.fullmatch(r"part-\d{8}T\d{6}Z-[0-9a-f]{8}-\d{6}\.parquet", f.name), f
            # Each file is complete on its own: footer magic and readable metadata.
            assert f.read_bytes()[-4:] == b"PAR1"
            pq.ParquetFile(f).metadata
    # Files being written live outside the dataset folders.
    assert not list((ROOT / "outcomes").rglob(".*"))


def test_outcomes_read_with_expected_rows_types_and_partitions():
    table = dataset(ROOT, "outcomes").to_table()
    assert table.num_rows == EXPECTED["outcomes"]
    schema = table.schema
    assert schema.field("request_id").type == pa.string()
    assert schema.field("received_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("prompt_tokens").type == pa.int64()
    assert schema.field("status").type == pa.int32()
    cand = schema.field("candidates").type
    assert pa.types.is_list(cand) and pa.types.is_struct(cand.value_type)
    assert [cand.value_type.field(i).name for i in range(cand.value_type.num_fields)] == [
        "model", "provider", "predicted_quality", "estimated_cost_usd", "eligible", "reason"]
    for field in schema:
        assert not pa.types.is_unsigned_integer(field.type), field.name

    ids = table.column("request_id").to_pylist()
    assert len(set(ids)) == len(ids)
    # The partition is the UTC date of received_at.
    dates = table.column("date").to_pylist()
    for recv, date in zip(table.column("received_at").to_pylist(), dates):
        assert recv.astimezone(timezone.utc).strftime("%Y-%m-%d") == str(date)
    assert len(set(map(str, dates))) == EXPECTED["days"]
    assert set(table.column("cache_hit").to_pylist()) <= {"none", "exact", "semantic"}
    emb = table.column("prompt_embedding")
    assert len(emb) - emb.null_count == EXPECTED["with_embedding"]
    assert pc.all(pc.greater_equal(table.column("latency_ms"), 0)).as_py()
    fallbacks = [f for f in table.column("fallbacks").to_pylist() if f]
    assert fallbacks and all(isinstance(m, str) for f in fallbacks for m in f)


def test_files_are_zstd_and_self_documented():
    f = data_files(ROOT, "outcomes")[0]
    meta = pq.ParquetFile(f).metadata
    rg = meta.row_group(0)
    assert {rg.column(i).compression for i in range(rg.num_columns)} == {"ZSTD"}
    schema = pq.read_schema(f)
    assert schema.metadata[b"llmgw.log"] == b"outcomes"
    for field in schema:
        assert field.metadata and len(field.metadata[b"description"]) > 10, field.name


def test_feedback_reads_and_joins_on_request_id():
    fb = dataset(ROOT, "feedback").to_table()
    assert fb.num_rows == EXPECTED["feedback"]
    q = fb.column("quality")
    assert pc.min(q).as_py() >= 0 and pc.max(q).as_py() <= 1
    unknown = pc.sum(pc.invert(fb.column("known_request"))).as_py()
    assert unknown == EXPECTED["feedback_unknown"]
    outcomes = dataset(ROOT, "outcomes").to_table(columns=["request_id", "model"])
    joined = outcomes.join(fb.select(["request_id", "quality"]), "request_id", join_type="inner")
    assert joined.num_rows == EXPECTED["feedback"] - EXPECTED["feedback_unknown"]


def test_private_log_keeps_hash_and_embedding_but_no_text():
    table = dataset(ROOT / "private", "outcomes").to_table()
    assert table.num_rows == EXPECTED["outcomes"]
    assert table.column("prompt").null_count == table.num_rows
    hashes = table.column("prompt_sha256").to_pylist()
    assert all(h and re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    emb = table.column("prompt_embedding")
    assert len(emb) - emb.null_count == EXPECTED["with_embedding"]


def test_polars_and_duckdb_read_the_same_rows():
    try:
        import polars as pl
    except ImportError:
        pl = None
    try:
        import duckdb
    except ImportError:
        duckdb = None
    if pl is None and duckdb is None:
        pytest.skip("neither polars nor duckdb is installed")
    glob = str(ROOT / "outcomes" / "**" / "*.parquet")
    if pl is not None:
        df = pl.scan_parquet(glob, hive_partitioning=True).group_by("model").agg(
            pl.len(), pl.col("cost_usd").sum()).collect()
        assert df["len"].sum() == EXPECTED["outcomes"]
    if duckdb is not None:
        n = duckdb.connect().execute(
            f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)").fetchone()[0]
        assert n == EXPECTED["outcomes"]
