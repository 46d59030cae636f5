-- Which image tags have not been rebuilt for a number of days?
-- Each tag as its newest successful read saw it (latest_image_manifests). Registries do not say when
-- a tag was pushed; "built" is the image config's `created`, the newest of a multi-platform tag's
-- platforms. A tag with no usable `created` (absent, or the 1970 epoch some reproducible builds
-- write) is listed with built_at NULL: its age is unknown. Owners from the newest evaluation.
-- Parameters: $days, a whole number of days.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/image_tags_not_rebuilt.sql --param days=60
WITH tags AS (
    SELECT
        registry,
        repository,
        tag,
        max(created) FILTER (WHERE created > TIMESTAMPTZ '1980-01-01 00:00:00+00') AS built_at,
        list_sort(list(DISTINCT concat_ws('/', os, architecture, variant))) AS platforms
    FROM latest_image_manifests
    GROUP BY ALL
)
SELECT
    coalesce(o.team, 'unowned') AS team,
    t.registry || '/' || t.repository || ':' || t.tag AS image,
    t.platforms,
    t.built_at,
    date_diff('day', t.built_at, now()) AS age_days
FROM tags t
LEFT JOIN latest_ownership o
  ON o.subject_kind = 'image' AND o.registry = t.registry AND o.repository = t.repository AND o.tag = t.tag
WHERE t.built_at IS NULL OR t.built_at < now() - to_days(CAST($days AS INTEGER))
ORDER BY t.built_at NULLS FIRST, image;
