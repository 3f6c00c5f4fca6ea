import math

import pandas as pd
import pytest

from harness.metrics.agreement import agreement, jaccard, kendall_tau_common, overlap_at_k, rank_biased_overlap
from harness.metrics.latency import latency_summary


def test_overlap_and_jaccard_by_hand():
    assert overlap_at_k([1, 2, 3], [3, 4, 1], 3) == pytest.approx(2 / 3)
    assert overlap_at_k([1, 2, 3], [3, 4, 1], 1) == 0.0
    assert jaccard([1, 2, 3], [3, 4, 1]) == pytest.approx(2 / 4)
    assert jaccard([1, 2], [1, 2]) == 1.0


def test_rbo_identical_and_disjoint():
    assert rank_biased_overlap(list(range(10)), list(range(10))) == pytest.approx(1.0)
    assert rank_biased_overlap([1, 2, 3], [4, 5, 6]) == 0.0


def test_rbo_worked_examples():
    # a=[1,2], b=[2,1], p=.5: X1=0, X2=2 -> (1)(0 + 1*.25) + (0/2 + 2/2)*.25 = .5
    assert rank_biased_overlap([1, 2], [2, 1], p=0.5) == pytest.approx(0.5)
    # X = 1, 1, 3 at p=.9: (.1/.9)(.9 + .5*.81 + .729) + 1*.729 = 0.955
    assert rank_biased_overlap([1, 2, 3], [1, 3, 2], p=0.9) == pytest.approx(2.034 / 9 + 0.729)
    # uneven lengths: the short list is a prefix of the long one -> extrapolated RBO is 1
    assert rank_biased_overlap([1], [1, 2], p=0.5) == pytest.approx(1.0)
    # symmetric in its arguments
    assert rank_biased_overlap([1, 2, 3, 4], [2, 5]) == pytest.approx(rank_biased_overlap([2, 5], [1, 2, 3, 4]))


def test_rbo_rewards_agreement_at_the_top():
    top = rank_biased_overlap([1, 2, 3, 4], [1, 2, 9, 8])
    bottom = rank_biased_overlap([1, 2, 3, 4], [9, 8, 3, 4])
    assert top > bottom


def test_kendall_tau_over_common_items():
    # common [1,2,3]; ranks in b 0,2,1: 2 concordant, 1 discordant pair -> 1/3
    assert kendall_tau_common([1, 2, 3, 4], [1, 3, 2, 9]) == pytest.approx(1 / 3)
    assert kendall_tau_common([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(kendall_tau_common([1, 2], [2, 7]))
    # two shared items give +1 or -1 whatever the lists: no figure, rather than a perfect one
    assert math.isnan(kendall_tau_common([1, 2, 3], [1, 2, 9]))
    assert math.isnan(kendall_tau_common([1, 2, 3], [2, 1, 9]))


def test_probes_sharing_fewer_than_three_results_are_left_out_of_the_mean_tau_and_its_interval():
    from harness.metrics.agreement import summarise_agreement

    ranked = [([1, 2, 3, 4], [1, 3, 2, 4]), ([5, 6, 7], [5, 6, 8]), ([9, 10, 11], [9, 10, 12])]
    rows = [
        {"collection_a": "a", "collection_b": "b", "probe_id": f"p{i}", **agreement(x, y, 4)}
        for i, (x, y) in enumerate(ranked)
    ]
    frame = pd.DataFrame(rows)
    frame = frame.assign(**{f"{m}_exact": frame[m] for m in ("overlap_at_k", "jaccard", "rbo", "kendall_tau")})
    tau = summarise_agreement(frame).set_index("metric").loc["kendall_tau"]
    # only the first probe shares more than two results: tau 2/3 from it alone, not pulled towards 1
    assert tau["items"] == 1 and tau["value"] == pytest.approx(2 / 3)
    alone = summarise_agreement(frame.iloc[1:]).set_index("metric").loc["kendall_tau"]
    assert math.isnan(alone["value"]) and math.isnan(alone["value_ci_low"]) and alone["items"] == 0


def test_latency_summary_percentiles():
    summary = latency_summary([1.0, 2.0, 3.0, 4.0])
    assert summary["n"] == 4
    assert summary["mean_ms"] == pytest.approx(2.5)
    assert summary["p50_ms"] == pytest.approx(2.5)
    assert summary["p95_ms"] == pytest.approx(3.85)
    assert latency_summary([])["n"] == 0


def test_agreement_of_identical_lists():
    figures = agreement([5, 6, 7], [5, 6, 7], k=3)
    assert figures["overlap_at_k"] == figures["jaccard"] == pytest.approx(1.0)
    assert figures["rbo"] == pytest.approx(1.0)
    assert figures["kendall_tau"] == pytest.approx(1.0)
