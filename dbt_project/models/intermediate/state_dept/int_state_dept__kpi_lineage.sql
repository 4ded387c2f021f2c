-- Where each visa KPI value comes from, in the shape marts.kpi_lineage unions (the releases
-- int_state_dept__kpi_values reads, through the same staging models):
--   visas_nonimmigrant:   the nationality's Grand Total cell of the NIV sheet (a summand: the
--                         KPI sums the Grand Totals of the country's nationalities);
--   visas_immigrant:      the foreign state's line of the Table III PDF (page=<n>), its total;
--   visas_issued:         both of the above, each a summand;
--   visas_temporary_work: each NIV class cell of the seed's pathway group 'temporary_work', a summand.
with niv as (

    select * from {{ ref('stg_state_dept__niv_issuances') }}

),

iv as (

    select * from {{ ref('stg_state_dept__iv_issuances') }}

),

visa_classes as (

    select * from {{ ref('state_dept_visa_classes') }}
    where visa_type = 'NIV'

),

-- one Grand Total cell per nationality and year (it is repeated on each class row)
niv_grand_totals as (

    select distinct
        country_iso3, fiscal_year, nationality, nationality_grand_total, grand_total_location, grand_total_text,
        source_vintage, fetch_id, source_file, file_sha256, source_url
    from niv

),

nonimmigrant as (

    select
        country_iso3, fiscal_year, source_vintage, fetch_id, source_file, file_sha256, source_url,
        grand_total_location as location, grand_total_text as original_text,
        nationality_grand_total as original_value, nationality || ', Grand Total' as series_id
    from niv_grand_totals

),

immigrant as (

    select
        country_iso3, fiscal_year, source_vintage, fetch_id, source_file, file_sha256, source_url,
        source_location as location, original_text, total as original_value,
        foreign_state || ', Total' as series_id
    from iv

),

temporary_work as (

    select
        niv.country_iso3, niv.fiscal_year, niv.source_vintage, niv.fetch_id, niv.source_file, niv.file_sha256,
        niv.source_url, niv.source_location as location, niv.original_text, niv.issuances as original_value,
        niv.nationality || ', ' || niv.visa_class_published as series_id
    from niv
    inner join visa_classes
        on niv.visa_class_published = visa_classes.visa_class_published
    where visa_classes.pathway_group = 'temporary_work'

),

-- visas_issued is published only where both parts exist (int_state_dept__kpi_values joins them)
issued_years as (

    select distinct nonimmigrant.country_iso3, nonimmigrant.fiscal_year
    from nonimmigrant
    inner join immigrant
        on nonimmigrant.country_iso3 = immigrant.country_iso3
        and nonimmigrant.fiscal_year = immigrant.fiscal_year

),

unioned as (

    select nonimmigrant.*, 'visas_nonimmigrant' as kpi_id, 'summand' as role,
        'int_state_dept__kpi_values: the NIV Detail Table Grand Total of each of the country''s nationalities, summed' as step
    from nonimmigrant
    union all
    select immigrant.*, 'visas_immigrant' as kpi_id, 'value' as role,
        'int_state_dept__kpi_values: the Table III total of the foreign state, as published' as step
    from immigrant
    union all
    select nonimmigrant.*, 'visas_issued' as kpi_id, 'summand' as role,
        'int_state_dept__kpi_values: visas issued = NIV Grand Total + Table III total' as step
    from nonimmigrant
    inner join issued_years
        on nonimmigrant.country_iso3 = issued_years.country_iso3
        and nonimmigrant.fiscal_year = issued_years.fiscal_year
    union all
    select immigrant.*, 'visas_issued' as kpi_id, 'summand' as role,
        'int_state_dept__kpi_values: visas issued = NIV Grand Total + Table III total' as step
    from immigrant
    inner join issued_years
        on immigrant.country_iso3 = issued_years.country_iso3
        and immigrant.fiscal_year = issued_years.fiscal_year
    union all
    select temporary_work.*, 'visas_temporary_work' as kpi_id, 'summand' as role,
        'int_state_dept__kpi_values: NIV issuances of the classes the seed state_dept_visa_classes groups as '
        || 'temporary_work, summed' as step
    from temporary_work

)

select
    {{ kpi_lineage_columns(
        country_iso3='country_iso3',
        kpi_id='kpi_id',
        year='fiscal_year',
        source_id="'state_dept_visas'",
        source_vintage='source_vintage',
        original_value='original_value',
        series_id='series_id',
        original_year='fiscal_year',
        role='role',
        step='step',
        location='location',
        file_path='source_file'
    ) }}
from unioned
