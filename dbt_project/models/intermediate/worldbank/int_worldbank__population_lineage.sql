-- Where each population figure (SP.POP.TOTL, the denominator of kpi_annual.value_per_100k) is in
-- its archived file: the same newest-vintage rows int_worldbank__population reads, in the common
-- lineage shape; marts.kpi_lineage sets the kpi_id of each cell it divides.
select
    {{ kpi_lineage_columns(
        country_iso3='country_iso3',
        kpi_id='null',
        year='year',
        source_id="'worldbank_wdi'",
        source_vintage='vintage',
        original_value='value',
        series_id='indicator_id',
        original_year='year',
        role="'denominator'",
        step="'kpi_annual: value_per_100k = value / SP.POP.TOTL x 100000'"
    ) }}
from {{ ref('int_worldbank__latest_indicator_values') }}
where indicator_id = 'SP.POP.TOTL'
