"""Index fidelity: recall of the index search against exact search over the same stored
vectors, and search latency, across the index's search parameter (nprobe for IVF, ef for
HNSW): a recall-vs-latency curve."""

from __future__ import annotations

import time

import pandas as pd

from harness.metrics.index import ef_sweep, first_reaching, nprobe_sweep, recall_against
from harness.metrics.latency import latency_summary
from harness.retrieval import Queries
from harness.study.base import Column, Frames, Measure, Plot, StudyInputs, Table
from harness.study.context import CollectionContext, Context

LATENCY_QUERIES = 20  # one-query searches timed per setting, after a warm-up


def _sweep(ctx: CollectionContext, k: int) -> list[int | None]:
    settings = ctx.settings
    param = ctx.index.search_param
    if param == "nprobe":
        values = set(settings.nprobe_values or nprobe_sweep(ctx.index.nlist)) | (
            {settings.nprobe} if settings.nprobe else set()
        )
    elif param == "ef":
        values = {max(v, k) for v in settings.ef_values or ef_sweep(k)} | ({settings.ef} if settings.ef else set())
    else:
        return [None]
    # No configured value: the server's default is searched too (its row has no value).
    return ([None] if ctx.configured is None else []) + sorted(values)


def _latency(ctx: CollectionContext, queries, k: int, value: int | None) -> dict:
    timed = queries[:LATENCY_QUERIES]
    ctx.search_hits(timed[:1], k, value)  # warm-up, untimed
    samples = []
    for i in range(len(timed)):
        started = time.perf_counter()
        ctx.search_hits(timed[i : i + 1], k, value)
        samples.append((time.perf_counter() - started) * 1000)
    summary = latency_summary(samples)
    return {"latency_queries": summary["n"], "latency_p50_ms": summary["p50_ms"], "latency_p95_ms": summary["p95_ms"]}


class Fidelity(Measure):
    name = "fidelity"
    tables = (
        Table(
            "fidelity_summary",
            "Index fidelity: index search vs exact search",
            "Index recall against exact search",
            section="Index",
            link="index table",
            columns={
                "recall_at_setting": Column("Recall vs exact", "float3", "high"),
                "latency_p50_ms": Column("Search p50 (ms)", "float1", "low"),
                "value_for_0_95": Column("Setting for 0.95", "text"),
                "value_for_0_99": Column("Setting for 0.99", "text"),
            },
        ),
        Table("fidelity", "Index fidelity: recall and latency by search parameter"),
    )
    plots = (
        Plot("ivf_recall", "Index recall vs search parameter (nprobe, ef)", "Index"),
        Plot("recall_latency", "Index recall vs search latency", "Index"),
    )
    definition = (
        "recall@k of the index search against exact L2 search over the same vectors, per value of the index's search "
        "parameter (nprobe for IVF types, ef for HNSW types, none for FLAT); latency = client-side time of "
        f"one-query searches ({LATENCY_QUERIES} queries after a warm-up)"
    )

    def plan(self, ctx: Context, inputs: StudyInputs) -> None:
        if isinstance(ctx, CollectionContext) and (ctx.meta.index.metric or "L2") == "L2":
            ctx.plan_rows(ctx.ids[ctx.sample(ctx.settings.fidelity_sample)], min(ctx.settings.top_k, len(ctx.ids)))

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        assert isinstance(ctx, CollectionContext)
        if (ctx.meta.index.metric or "L2") != "L2":
            return {}  # the exact search here is L2; a collection the harness did not build may use another metric
        settings = ctx.settings
        ids = ctx.ids
        index = ctx.index
        k = min(settings.top_k, len(ids))
        query_ids = ids[ctx.sample(settings.fidelity_sample)]
        queries = ctx.retriever.query_vectors(Queries.of_rows(query_ids))
        exact = [[h.id for h in hits] for hits in ctx.search_rows(query_ids, k, exact=True)]
        rows = [
            {
                "collection": ctx.name,
                "index": index.type,
                "nlist": index.nlist,
                "param": index.search_param or "",
                "value": value,
                "k": k,
                "queries": len(query_ids),
                "recall_at_k": recall_against(ctx.search_ids(queries, k, value), exact, k),
                **_latency(ctx, queries, k, value),
            }
            for value in _sweep(ctx, k)
        ]
        frame = pd.DataFrame(rows)
        configured = ctx.configured
        at_setting = frame.loc[frame["value"] == configured] if configured else frame.loc[frame["value"].isna()]
        summary = {
            "collection": ctx.name,
            "index": index.describe(),
            "k": k,
            "search": ctx.setting,
            "recall_at_setting": float(at_setting["recall_at_k"].iloc[0]) if len(at_setting) else float("nan"),
            "latency_p50_ms": float(at_setting["latency_p50_ms"].iloc[0]) if len(at_setting) else float("nan"),
            "param": index.search_param or "",
            "value_for_0_95": first_reaching(frame, 0.95),
            "value_for_0_99": first_reaching(frame, 0.99),
        }
        return {"fidelity": frame, "fidelity_summary": pd.DataFrame([summary])}
