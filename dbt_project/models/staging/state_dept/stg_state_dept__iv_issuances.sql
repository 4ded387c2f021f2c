-- Report of the Visa Office Table III rows; each fiscal year is its own release, and the latest
-- load of a release wins should one ever be loaded twice with different values.
with source as (

    select * from {{ source('state_dept', 'state_dept_iv_issuances') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by country_iso3, fiscal_year
            order by vintage desc, loaded_at desc
        ) as release_rank
    from source

)

select
    country_iso3,
    cast(fiscal_year as integer) as fiscal_year,
    foreign_state,
    cast(immediate_relatives as bigint) as immediate_relatives,
    cast(special_immigrants as bigint) as special_immigrants,
    cast(family_preference as bigint) as family_preference,
    cast(employment_preference as bigint) as employment_preference,
    cast(schedule_a_workers as bigint) as schedule_a_workers,
    cast(diversity_immigrants as bigint) as diversity_immigrants,
    cast(total as bigint) as total,
    special_immigrants_heading,
    vintage as source_vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text
from ranked
where release_rank = 1
