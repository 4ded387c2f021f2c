-- In the warehouse too, an OHSS year's months add up to its annual figure within the publisher's
-- rounding (each value rounded to 10: at most 5 per month of the year plus 5 for the total).
with months as (

    select vintage, fiscal_year, region, citizenship_code, sum(encounters) as monthly_sum
    from {{ ref('stg_cbp__ohss_monthly_encounters') }}
    group by vintage, fiscal_year, region, citizenship_code

),

months_in_year as (

    select vintage, fiscal_year, count(distinct fiscal_month) as months
    from {{ ref('stg_cbp__ohss_monthly_encounters') }}
    group by vintage, fiscal_year

)

select annual.vintage, annual.fiscal_year, annual.region, annual.citizenship_code,
       annual.encounters, months.monthly_sum
from {{ ref('stg_cbp__ohss_annual_encounters') }} as annual
inner join months_in_year
    on annual.vintage = months_in_year.vintage
    and annual.fiscal_year = months_in_year.fiscal_year
left join months
    on annual.vintage = months.vintage
    and annual.fiscal_year = months.fiscal_year
    and annual.region = months.region
    and annual.citizenship_code = months.citizenship_code
where abs(coalesce(months.monthly_sum, 0) - annual.encounters) > 5 * (months_in_year.months + 1)
