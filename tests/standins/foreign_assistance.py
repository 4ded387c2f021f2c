"""ForeignAssistance.gov: the country summary CSV and the sector API (one page per fiscal year, made
from the snapshot's rows transcribed from the API) of the bundled snapshot."""

import csv
import io
import json

from orchestration.sources import foreign_assistance
from tests.standins.publisher import Publisher, snapshot_file, snapshot_landing

FISCAL_YEARS = range(2024, 2026)


def api_pages(fiscal_years: range) -> dict[int, bytes]:
    """API pages (JSON) of the snapshot's rows transcribed from the API, one page per fiscal year."""
    rows = list(csv.DictReader(io.StringIO(snapshot_file(snapshot_landing("foreign_assistance", "3-"), "fa_api_by_usg_sector").decode())))
    pages = {}
    for year in fiscal_years:
        data = [
            {"id": index, "country_code": r["country_code"], "country_name": r["country_name"],
             "usg_category_id": int(r["usg_category_id"]), "usg_category_name": r["usg_category_name"],
             "usg_sector_id": int(r["usg_sector_id"]), "usg_sector_name": r["usg_sector_name"],
             "transaction_type_id": int(r["transaction_type_id"]), "fiscal_year": r["fiscal_year"],
             "current_amount": int(r["current_amount"])}
            for index, r in enumerate(rows) if int(r["fiscal_year"]) == year
        ]
        pages[year] = json.dumps({"data": data, "page_info": {"current_page": 1, "total_pages": 1, "total_records": len(data)}}).encode()
    return pages


def publisher() -> Publisher:
    files = {f"{foreign_assistance.SECTOR_API_PATH}/fiscal_year={year}": (body, "application/json")
             for year, body in api_pages(FISCAL_YEARS).items()}
    files["/files/us_foreign_aid_country.csv"] = (snapshot_file(snapshot_landing("foreign_assistance", "2-"), "us_foreign_aid_country"), "text/csv")
    return Publisher(
        foreign_assistance.SPEC, files, target="/files/us_foreign_aid_country.csv", kind="csv",
        env={"KPI_FOREIGN_ASSISTANCE_BASE_URL": "{base}",
             foreign_assistance.COUNTRY_SUMMARY_URL_ENV: "{base}/files/us_foreign_aid_country.csv"},
        settings_overrides={"first_year": 2024, "last_year": 2024},  # API fiscal years 2024 and 2025
        paged_by_query=(foreign_assistance.SECTOR_API_PATH, "fiscal_year"),
    )
