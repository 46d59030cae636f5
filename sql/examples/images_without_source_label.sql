-- Which image tags do not say which repository they were built from?
-- No org.opencontainers.image.source label or annotation on at least one of the tag's platform
-- images (latest_image_lineage): such an image cannot be traced to its repository and commit, so a
-- fix in a Dockerfile cannot be followed to the images that need a rebuild. It may still have an
-- owner (an org.hullcheck.team label, an images: glob); decided_by says how, from the newest evaluation.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/images_without_source_label.sql
SELECT
    coalesce(o.team, 'unowned') AS team,
    l.registry || '/' || l.repository || ':' || l.tag AS image,
    list_sort(list(DISTINCT concat_ws('/', l.os, l.architecture))) AS platforms,
    any_value(o.decided_by) AS decided_by
FROM latest_image_lineage l
LEFT JOIN latest_ownership o
  ON o.subject_kind = 'image' AND o.registry = l.registry AND o.repository = l.repository AND o.tag = l.tag
GROUP BY ALL
HAVING bool_or(l.source IS NULL OR trim(l.source) = '')
ORDER BY team, image;
