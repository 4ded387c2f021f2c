-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_visa_issuances as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_visa_issuances.
select
    country_iso3, fiscal_year, visa_type, visa_class, pathway_group, visa_count as issuances,
    visa_class_published, source_vintage
from {{ ref('fct_visa_issuances') }}
