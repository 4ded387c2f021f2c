"""Hostile publishers, round three (issue 24): wall time and peak memory of a live fetch against each
hostile stand-in, each fetch in a child process of its own (its peak RSS is the kernel's high-water
mark, VmHWM).

Run by hand (it prints figures; the tests in tests/integration/test_hostile_publishers_round3.py
assert the behaviour with generous bounds):

    .venv/bin/python bench/hostile.py

Cases: a normal World Bank fetch (the floor: interpreter and imports), a gzip bomb (2 GiB from about
2 MB on the wire), an endless body without Content-Length, a UNHCR header under-reporting its pages,
and all seven publishers trickling at once (one fetch phase, request deadline 10 s, phase deadline 12 s;
one source after another it would take 70 s).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import json

    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response

    from orchestration.sources import state_dept, unhcr
    from tests.conftest import SNAPSHOT_DIR, warehouse_env
    from tests.faults import LivePublishers, Status, Trickle
    from tests.hostile import MIB, EndlessBody, fetch_in_child, gzip_bomb
    from tests.standins import standin_publishers

    rows = []

    def record(case: str, measured) -> None:
        outcome = measured.result.get("error") or ("fetched " + measured.result["fetch_id"] if "fetch_id" in measured.result else "")
        if "results" in measured.result:
            failed = [name for name, result in measured.result["results"].items() if result["fetch_id"] is None]
            outcome = f"{len(failed)} of {len(measured.result['results'])} sources failed at their deadline"
        rows.append((case, f"{measured.seconds:.1f}", f"{measured.peak_rss_mib:.0f}", outcome[:150]))
        print(f"  {case}: {measured.seconds:.1f} s, peak RSS {measured.peak_rss_mib:.0f} MiB: {outcome[:150]}", flush=True)

    with tempfile.TemporaryDirectory(prefix="kpi-hostile-") as tmp:
        root = Path(tmp)
        server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        server.start()
        try:
            served = standin_publishers()
            live = LivePublishers(server, served)
            wb = served["worldbank"]

            record("worldbank, normal release", fetch_in_child("worldbank", live.env("worldbank", root / "normal")))

            live.faults.add(wb.target, Status(200, headers=(("Content-Encoding", "gzip"),), content_type="application/json",
                                              body=gzip_bomb(2048 * MIB, prefix=b'[{"page": 1, "pages": 1}, [')))
            record("gzip bomb (2 GiB expanded)", fetch_in_child("worldbank", live.env("worldbank", root / "bomb")))

            endless = EndlessBody()
            server.expect_request("/endless/FYs97-24_NIVDetailTable.xlsx").respond_with_handler(endless)
            direct = server.url_for("").rstrip("/")  # not through the fault proxy, which buffers whole answers
            env = warehouse_env(root / "endless", KPI_SOURCE_MODE="live", KPI_STATE_DEPT_BASE_URL=direct,
                                **{state_dept.NIV_WORKBOOK_URL_ENV: direct + "/endless/FYs97-24_NIVDetailTable.xlsx",
                                   state_dept.TABLE_III_URLS_ENV: direct + "/endless/none.pdf"})
            record("endless body, no Content-Length", fetch_in_child("state_dept", env))

            landing = next((SNAPSHOT_DIR / "unhcr").iterdir())
            items = {endpoint: json.loads((landing / unhcr.page_file_name(endpoint, "HND", 1)).read_bytes())["items"]
                     for endpoint in unhcr.ENDPOINT_ORDER}

            def lying(request: Request) -> Response:
                endpoint = request.path.strip("/").rsplit("/", 1)[-1]
                page, limit = int(request.args["page"]), int(request.args["limit"])
                body = {"page": page, "maxPages": 1, "total": [], "items": items[endpoint][(page - 1) * limit: page * limit]}
                return Response(json.dumps(body), content_type="application/json")

            for endpoint in unhcr.ENDPOINT_ORDER:
                server.expect_request(f"/lying/{endpoint}/").respond_with_handler(lying)
            env = warehouse_env(root / "lying", KPI_SOURCE_MODE="live", KPI_COUNTRIES="HND", KPI_UNHCR_BASE_URL=direct + "/lying")
            record("UNHCR header under-reporting pages", fetch_in_child("unhcr", env, unhcr_page_size=100))

            for publisher in served.values():
                for path in publisher.files:  # a paged API's pages share one path: a queue per page
                    live.faults.add(publisher.served_path(path), *[Trickle(0.5)] * 4)
            env = {}
            for source in served:
                env.update(live.env(source, root / "trickle"))
            env.update(KPI_COUNTRIES="HND", KPI_HTTP_TIMEOUT_SECONDS="2", KPI_HTTP_REQUEST_DEADLINE_SECONDS="10",
                       KPI_SOURCE_FETCH_DEADLINE_SECONDS="10", KPI_FETCH_PHASE_DEADLINE_SECONDS="12")
            record("seven publishers trickling at once", fetch_in_child("all", env))
            live.stop()
        finally:
            server.clear()
            if server.is_running():
                server.stop()
    print()
    print(f"| {'case':<36} | {'wall s':>6} | {'peak RSS MiB':>12} | outcome")
    print(f"|{'-' * 38}|{'-' * 8}|{'-' * 14}|---------")
    for case, seconds, rss, outcome in rows:
        print(f"| {case:<36} | {seconds:>6} | {rss:>12} | {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
