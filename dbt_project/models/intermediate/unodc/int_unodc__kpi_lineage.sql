-- Where each cocaine_seized_kg value comes from, in the shape marts.kpi_lineage unions: every
-- published row of a drug the seed counts as cocaine, of the country's newest annex release, with
-- a weight (a summand: int_unodc__cocaine_seized adds them; rows without a weight stay out).
with seizures as (

    select * from {{ ref('stg_unodc__drug_seizures') }}
    where kilograms is not null

),

cocaine_names as (

    select drug_group, drug_subgroup, drug_name from {{ ref('unodc_drug_names') }}
    where counts_as_cocaine

),

cocaine as (

    select seizures.*
    from seizures
    inner join cocaine_names
        on seizures.drug_group = cocaine_names.drug_group
        and seizures.drug_subgroup = cocaine_names.drug_subgroup
        and seizures.drug_name = cocaine_names.drug_name

),

latest as (

    {{ newest_vintage_rows('cocaine', ['country_iso3'], 'make_date(cast(right(vintage, 4) as integer), 12, 31)') }}

)

select
    {{ kpi_lineage_columns(
        country_iso3='country_iso3',
        kpi_id="'cocaine_seized_kg'",
        year='year',
        source_id="'unodc_drug_seizures'",
        source_vintage="'World Drug Report annex 7.1, ' || vintage",
        original_value='kilograms',
        series_id="'cocaine_seized_kg'",
        original_year='year',
        role="'summand'",
        step="'int_unodc__cocaine_seized: kilograms of every row of a drug the seed unodc_drug_names counts as cocaine, summed'"
    ) }}
from latest
