"""Server-side search latency from a Milvus server's Prometheus metrics (port 9091).

pymilvus returns no per-query server time, so we read the proxy's search-latency
histogram (``milvus_proxy_sq_latency``, milliseconds) before and after a timed run and
summarise the difference: what the server spent, apart from network and client.
"""

from __future__ import annotations

import math
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from harness.errors import HarnessError

METRIC = "milvus_proxy_sq_latency"
_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Histogram:
    count: float = 0.0
    total_ms: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count

    def minus(self, earlier: "Histogram") -> "Histogram":
        return Histogram(
            self.count - earlier.count,
            self.total_ms - earlier.total_ms,
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()},
        )

    def quantile(self, q: float) -> float:
        """Prometheus-style estimate: linear interpolation inside the bucket holding q."""
        if self.count <= 0:
            return math.nan
        rank = q * self.count
        lower, below = 0.0, 0.0
        for upper in sorted(self.buckets):
            cumulative = self.buckets[upper]
            if cumulative >= rank:
                if math.isinf(upper):
                    return lower
                inside = cumulative - below
                return lower + (upper - lower) * ((rank - below) / inside if inside else 0.0)
            lower, below = upper, cumulative
        return lower

    def summary(self) -> dict:
        mean = self.total_ms / self.count if self.count > 0 else math.nan
        return {
            "server_n": int(self.count),
            "server_mean_ms": mean,
            "server_p50_ms": self.quantile(0.5),
            "server_p95_ms": self.quantile(0.95),
        }


def parse_search_histogram(text: str, metric: str = METRIC) -> Histogram:
    """Sum the search series of a histogram over all proxies (node_id labels)."""
    histogram = Histogram()
    for line in text.splitlines():
        if not line.startswith(metric):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if labels.get("query_type") != "search":
            continue
        value = float(match["value"])
        name = match["name"]
        if name == f"{metric}_count":
            histogram.count += value
        elif name == f"{metric}_sum":
            histogram.total_ms += value
        elif name == f"{metric}_bucket":
            bound = float(labels["le"]) if labels.get("le") not in ("+Inf", None) else math.inf
            histogram.buckets[bound] = histogram.buckets.get(bound, 0.0) + value
    return histogram


def read_search_histogram(url: str, timeout: float = 5.0) -> Histogram:
    """The search histogram from a Prometheus endpoint. Credentials in the URL
    (``http://user:pass@host:9091/metrics``) are sent as basic auth and never shown."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    shown = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise HarnessError(f"bad metrics URL {shown}: the port must be a number from 1 to 65535") from None
    if parts.scheme not in ("http", "https") or not host or port == 0:
        raise HarnessError(f"bad metrics URL {shown}: use http(s)://host:9091/metrics")
    # The host comes from after the LAST "@": a password holding "@" never becomes a host name.
    request = urllib.request.Request(shown)
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HarnessError(f"cannot read Milvus metrics at {shown}: {reason}") from None
    return parse_search_histogram(text)
