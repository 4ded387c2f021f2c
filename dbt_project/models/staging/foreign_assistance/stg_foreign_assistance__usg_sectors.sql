-- The USG sector taxonomy, one row per sector and API release.
select
    cast(usg_sector_id as integer) as usg_sector_id,
    cast(usg_sector_name as varchar) as usg_sector_name,
    cast(usg_category_id as integer) as usg_category_id,
    cast(usg_category_name as varchar) as usg_category_name,
    cast(vintage as date) as vintage
from {{ source('foreign_assistance', 'foreign_assistance_usg_sectors') }}
