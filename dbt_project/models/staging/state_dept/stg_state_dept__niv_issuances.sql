-- NIV Detail Table values of the newest release that covers each fiscal year: a release is named
-- by the years it covers ("... FY1997-FY2024") and dated by the last day of its last fiscal year.
with source as (

    select * from {{ source('state_dept', 'state_dept_niv_issuances') }}

),

ranked as (

    select
        *,
        {{ is_newest_vintage(['country_iso3', 'fiscal_year'], 'make_date(cast(right(vintage, 4) as integer), 9, 30)', vintage='vintage') }}
            as is_newest_release
    from source

)

select
    country_iso3,
    cast(fiscal_year as integer) as fiscal_year,
    nationality,
    visa_class as visa_class_published,
    cast(issuances as bigint) as issuances,
    cast(nationality_grand_total as bigint) as nationality_grand_total,
    sheet_name,
    vintage as source_vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text,
    cast(grand_total_location as varchar) as grand_total_location,
    cast(grand_total_text as varchar) as grand_total_text
from ranked
where is_newest_release
