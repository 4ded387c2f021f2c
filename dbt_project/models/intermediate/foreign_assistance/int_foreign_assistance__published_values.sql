-- Every Country Summary obligation and disbursement of every release loaded, in the shape
-- kpi_revisions unions (series_id is the transaction type).
select
    cast('foreign_assistance_gov' as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast(transaction_type_name as varchar) as series_id,
    cast(fiscal_year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(current_amount as double precision) as value,
    cast(case transaction_type_name
        when 'Obligations' then 'us_assistance_obligations'
        when 'Disbursements' then 'us_assistance_disbursements'
    end as varchar) as kpi_id,
    cast(vintage as date) as vintage_date
from {{ ref('stg_foreign_assistance__country_summary_amounts') }}
where transaction_type_name in ('Obligations', 'Disbursements')
