-- Which external base images does the organization build on, and how widely?
-- Latest audit only (each repository's newest observation); counts stages whose FROM is an
-- external image (base_kind = 'image': not an earlier stage, not scratch, not unresolved).
-- An image is registry/repository; `tags` lists the tags and digests written for it
-- ('(no tag)' when a FROM had neither, which Docker reads as :latest).
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/base_images_by_count.sql
SELECT
    base_registry || '/' || base_repository AS base_image,
    count(*) AS stages,
    count(DISTINCT (repo, path)) AS dockerfiles,
    count(DISTINCT repo) AS repos,
    list_sort(list_distinct(list(
        CASE WHEN base_tag IS NULL AND base_digest IS NULL THEN '(no tag)' ELSE concat_ws('@', base_tag, base_digest) END
    ))) AS tags
FROM latest_dockerfile_stages
WHERE base_kind = 'image'
GROUP BY ALL
ORDER BY stages DESC, repos DESC, base_image;
