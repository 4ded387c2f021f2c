-- NIV Detail Table values of the newest release that covers each fiscal year: a release is named
-- by the years it covers ("... FY1997-FY2024"), so its last four characters order the releases.
with source as (

    select * from {{ source('state_dept', 'state_dept_niv_issuances') }}

),

ranked as (

    select
        *,
        dense_rank() over (
            partition by country_iso3, fiscal_year
            order by right(vintage, 4) desc, vintage desc
        ) as release_rank
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
where release_rank = 1
