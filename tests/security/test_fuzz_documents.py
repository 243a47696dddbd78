"""Fuzzing the readers of tenant YAML and JSON: manifests, renderer output, kustomization.yaml, Chart.yaml.

Every file in Git is a tenant's. The property: each text is read into
documents or refused with Problems (file:line:col), within a time bound,
never an uncaught exception; what is accepted can be serialised as JSON (the
render cache, the diff and the apply all do that) within the expansion limit.
Examples come from random text, from pieces of the YAML grammar, and from a
generator of structured YAML with anchors, aliases, tags, merges, repeated
keys and deep nesting.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.render.documents import Limits, read_documents
from gitward.render.helm import _chart_metadata
from gitward.render.job import Job
from gitward.render.kustomize import Inspector
from gitward.render.problems import Problem
from gitward.render.tools import ToolRunner, Tools
from gitward.render.validate import objects_from_output

# Reading a few KB takes milliseconds; a second means something ran away.
BOUND = 1.0
# Small limits, so that generated examples reach them often.
LIMITS = Limits(max_file_bytes=64 * 1024, max_expanded_nodes=20_000, max_expanded_bytes=200_000, max_depth=40)

FUZZ = settings(
    max_examples=150,
    deadline=None,  # the bound is asserted per call below, with a clearer message
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_PIECES = st.sampled_from(
    [
        "a", "b", "key", ":", ": ", " ", "  ", "\n", "\n  ", "- ", "-", "&a ", "&b ", "*a", "*b", "[", "]",
        "{", "}", ", ", "? ", "<<: ", "<<: *a", "---\n", "...\n", "|\n  x\n", ">-\n  y\n", "'q'", '"d\\x41"',
        '"\\u0061"', "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!binary ", "!!timestamp ",
        "!!set ", "!!omap ", "!!pairs ", "!!map ", "!!seq ", "!!merge ", "!!python/object:os.system ",
        "!local ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "#c\n", "\t", "~", "null", "yes", "on", "0x1f",
        "0o17", "1_000", "1:20", ".inf", ".nan", "2024-01-01", "1e999", "9" * 5000, "x" * 3000, "\ufeff",
        "\x85", "\u2028", "\x00", "\ud7ff",
    ]
)  # fmt: skip
GRAMMAR = st.lists(_PIECES, max_size=60).map("".join)

_KEYS = st.sampled_from(["a", "b", "name", "1", "'1'", "true", "'true'", "<<", "x y", '"a"'])
_SCALARS = st.one_of(
    st.sampled_from(
        ["1", "-2", "0x10", "3.5", ".inf", "~", "yes", "''", '"s"', "2024-01-01", "1:30", "text"]
    ),
    st.text(alphabet="abc xyz", min_size=1, max_size=8).map(lambda s: f"'{s}'"),
    st.integers(0, 2000).map(lambda n: "'" + "x" * n + "'"),
)
_TAGS = st.sampled_from(["", "", "", "!!str ", "!!int ", "!!set ", "!!map ", "!!seq ", "!!omap ", "!custom "])


@st.composite
def structured(draw: st.DrawFn, depth: int = 0) -> str:
    """A YAML value in flow style: anchors, aliases (to any name, defined or not), tags, repeated keys."""
    prefix = draw(_TAGS) + draw(st.sampled_from(["", "", "", "&a ", "&b ", "&c "]))
    kind = draw(st.sampled_from(["scalar", "alias", "seq", "map"] if depth < 60 else ["scalar", "alias"]))
    if kind == "scalar":
        return prefix + draw(_SCALARS)
    if kind == "alias":
        return draw(st.sampled_from(["*a", "*b", "*c"]))
    items = draw(st.lists(structured(depth + 1), max_size=draw(st.sampled_from([0, 2, 4, 12]))))
    if kind == "seq":
        return prefix + "[" + ", ".join(items) + "]"
    keys = draw(st.lists(_KEYS, min_size=len(items), max_size=len(items)))
    return prefix + "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


@st.composite
def deep(draw: st.DrawFn) -> str:
    """Nesting around (and aliased into) the depth limit, in flow and block style."""
    levels = draw(st.integers(0, 120))
    if draw(st.booleans()):
        return "a: &a " + "[" * levels + "]" * levels + "\nb: " + "[" * levels + "*a" + "]" * levels + "\n"
    return "".join("  " * i + "k:\n" for i in range(levels)) + "  " * levels + "v\n"


@st.composite
def laughs(draw: st.DrawFn) -> str:
    """Billion-laughs documents of random shape: scalar size, fan-out and levels."""
    size = draw(st.integers(0, 4000))
    fanouts = draw(st.lists(st.integers(1, 12), min_size=1, max_size=8))
    lines = [f'l0: &l0 "{"x" * size}"']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * n)}]" for i, n in enumerate(fanouts, 1)]
    return "\n".join(lines) + "\n"


YAML_TEXTS = st.one_of(
    st.text(max_size=300),
    GRAMMAR,
    structured(),
    st.lists(structured(), min_size=1, max_size=4).map(lambda docs: "---\n".join(d + "\n" for d in docs)),
    deep(),
    laughs(),
)


@st.composite
def json_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON, mostly valid, with repeated and escaped keys, and sometimes cut or spliced."""
    kind = draw(st.sampled_from(["scalar", "array", "object"] if depth < 6 else ["scalar"]))
    if kind == "scalar":
        return json.dumps(
            draw(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)))
        )
    items = draw(st.lists(json_texts(depth + 1), max_size=4))
    if kind == "array":
        return "[" + ",".join(items) + "]"
    keys = draw(
        st.lists(
            st.sampled_from(['"a"', '"b"', '"\\u0061"', '"a\\"b"', '""']),
            min_size=len(items),
            max_size=len(items),
        )
    )
    return "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


JSON_TEXTS = st.one_of(
    json_texts(),
    json_texts().flatmap(lambda t: st.integers(0, len(t)).map(lambda cut: t[:cut])),
    st.text(max_size=200),
    st.integers(0, 3000).map(lambda n: "[" * n + "]" * n),
)


def _checked(text: str, json_only: bool) -> None:
    started = time.monotonic()
    documents, problems = read_documents(text, "f.yaml", json_only=json_only, limits=LIMITS)
    took = time.monotonic() - started
    assert took < BOUND, f"reading {len(text)} characters took {took:.2f}s"
    assert all(isinstance(p, Problem) and p.file == "f.yaml" and p.message for p in problems)
    if problems:
        assert documents == []
        return
    # What is accepted is JSON-able, within the expansion limit (with slack for JSON's spelling of numbers).
    encoded = json.dumps([d.value for d in documents])
    assert len(encoded) < 2 * LIMITS.max_expanded_bytes + 1000


@FUZZ
@given(YAML_TEXTS)
def test_any_yaml_text_is_read_or_refused_with_problems(text: str) -> None:
    _checked(text, json_only=False)


@FUZZ
@given(JSON_TEXTS)
def test_any_json_text_is_read_or_refused_with_problems(text: str) -> None:
    _checked(text, json_only=True)


@FUZZ
@given(YAML_TEXTS)
def test_any_renderer_output_is_placed_or_refused_with_problems(text: str) -> None:
    problems: list[Problem] = []
    started = time.monotonic()
    placed = objects_from_output(text, "helm template", lambda _i, _line: "chart", LIMITS, problems)
    assert time.monotonic() - started < BOUND
    assert all(isinstance(p, Problem) for p in problems)
    assert all(isinstance(p.obj, dict) for p in placed)


_KUSTOMIZATION_FIELDS = [
    "resources", "bases", "components", "patches", "patchesStrategicMerge", "configMapGenerator",
    "secretGenerator", "crds", "openapi", "replacements", "helmCharts", "namePrefix", "generators",
]  # fmt: skip
KUSTOMIZATION_TEXTS = st.one_of(
    YAML_TEXTS,
    st.lists(st.tuples(st.sampled_from(_KUSTOMIZATION_FIELDS), structured()), max_size=6).map(
        lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs)
    ),
)


@FUZZ
@given(KUSTOMIZATION_TEXTS)
def test_any_kustomization_is_inspected_or_refused_with_problems(tmp_path: Path, text: str) -> None:
    root = tmp_path / "repo"
    app = root / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "kustomization.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    inspector = Inspector(root, LIMITS, allow_remote=False)
    started = time.monotonic()
    inspector.folder(app)
    assert time.monotonic() - started < BOUND
    assert all(isinstance(p, Problem) for p in inspector.problems)


CHART_TEXTS = st.one_of(
    YAML_TEXTS,
    st.lists(
        st.tuples(st.sampled_from(["apiVersion", "name", "version", "dependencies", "type"]), structured()),
        max_size=5,
    ).map(lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs)),
)


@FUZZ
@given(CHART_TEXTS)
def test_any_chart_yaml_is_read_or_refused_with_problems(tmp_path: Path, text: str) -> None:
    chart = tmp_path / "chart"
    chart.mkdir(exist_ok=True)
    (chart / "Chart.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    job = Job(ToolRunner(), Tools(), tmp_path, 10.0, False, LIMITS, 1 << 20)
    problems: list[Problem] = []
    started = time.monotonic()
    metadata = _chart_metadata(chart / "Chart.yaml", "chart/Chart.yaml", job, problems)
    assert time.monotonic() - started < BOUND
    assert (metadata is None) == bool(problems)
    assert metadata is None or isinstance(metadata.get("name"), str)
