"""Run every benchmark; each prints its median and, where there is a peer, the ratio."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_compile  # noqa: E402
import bench_engine  # noqa: E402
import bench_engines  # noqa: E402
import bench_execute  # noqa: E402
import bench_generate  # noqa: E402
import bench_llm  # noqa: E402
import bench_pipeline  # noqa: E402
import bench_rewards  # noqa: E402
import bench_tables  # noqa: E402

if __name__ == "__main__":
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench"
    bench_compile.main()
    bench_execute.main(data)
    bench_engine.main(data)
    bench_rewards.main(data)
    bench_tables.main(data)
    bench_generate.main(data)
    bench_llm.main(data)
    bench_pipeline.main(data)
    bench_engines.main(data, quick=True)  # the full run (and the 1 GB REPL case): python benchmarks/bench_engines.py --repl-mb 1024
