-- The annex's "Cocaine (total of the above ...)" row counts as cocaine because a country that reports
-- it reports no parts that year (Panama 2022, the United States 2021). A country-year with the total
-- and a counted part would be summed twice: any such row is an error, to be settled in the seed.
select country_iso3, year, vintage
from {{ ref('int_unodc__seizures_by_drug') }}
where counts_as_cocaine
group by country_iso3, year, vintage
having sum(case when drug_name like 'Cocaine (total of the above%' then 1 else 0 end) > 0
    and count(*) > 1
