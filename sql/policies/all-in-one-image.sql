-- all-in-one-image: the stages that ship (final + the stages it builds on) install more packages
-- than max_packages, or carry more language runtimes than max_runtimes (from the base image, OS
-- packages, and COPY --from of other images). One finding per Dockerfile.
-- The chain carries its depth and each stage's base, so the root's base image comes from the chain's
-- deepest stage (what stage_bases calls base_image) without paying for stage_bases' audited-image
-- matching, which this policy does not need.
WITH chain AS (  -- the final stage and the stages it builds on
    SELECT o.subject_id, o.situation, s.run_id, s.repo, s.path, s.stage_index, s.base_kind, s.base_stage_index,
           s.base_normalized, h.depth
    FROM subjects o
    JOIN dockerfile_shipped_stages h ON h.run_id = o.run_id AND h.repo = o.repo AND h.path = o.path
    JOIN dockerfile_stages s
      ON s.run_id = h.run_id AND s.repo = h.repo AND s.path = h.path AND s.stage_index = h.stage_index
    WHERE o.subject_kind = 'dockerfile'
),
pkgs AS (
    SELECT c.subject_id, k.manager, k.package,
           CASE WHEN k.manager IN ('apt', 'apk', 'yum', 'dnf', 'microdnf', 'zypper') THEN
               CASE
                   WHEN regexp_matches(k.package, '^python[0-9.]*(-minimal|-dev)?$') THEN 'python'
                   WHEN regexp_matches(k.package, '^(nodejs|node|npm)$') THEN 'node'
                   WHEN regexp_matches(k.package, '^(openjdk[0-9]*(-[0-9]+)?(-(jre|jdk))?(-headless)?|default-(jre|jdk)'
                                                  || '(-headless)?|java-[0-9.]+-openjdk.*|temurin-[0-9]+-(jre|jdk))$')
                       THEN 'java'
                   WHEN regexp_matches(k.package, '^ruby[0-9.]*(-full)?$') THEN 'ruby'
                   WHEN regexp_matches(k.package, '^(golang|golang-go|golang-[0-9.]+|go)$') THEN 'go'
                   WHEN regexp_matches(k.package, '^php[0-9.]*(-cli|-fpm)?$') THEN 'php'
                   WHEN regexp_matches(k.package, '^(dotnet|aspnetcore)-(runtime|sdk)(-[0-9.]+)?$') THEN 'dotnet'
                   WHEN regexp_matches(k.package, '^(rustc|cargo|rust)$') THEN 'rust'
                   WHEN regexp_matches(k.package, '^(r-base|R)$') THEN 'r'
               END
           END AS runtime
    FROM chain c
    JOIN dockerfile_packages k
      ON k.run_id = c.run_id AND k.repo = c.repo AND k.path = c.path AND k.stage_index = c.stage_index
),
root_base AS (  -- the base image at the root of the final stage's chain
    SELECT subject_id, base_normalized AS base_image
    FROM chain
    QUALIFY row_number() OVER (PARTITION BY subject_id ORDER BY depth DESC) = 1
),
images AS (  -- the root base and images copied from, by repository name
    SELECT subject_id, regexp_extract(base_image, '^[^/]+/([^:@]+)', 1) AS image_repo
    FROM root_base
    WHERE base_image IS NOT NULL
    UNION ALL
    SELECT c.subject_id, regexp_extract(x.from_image, '^[^/]+/([^:@]+)', 1)
    FROM chain c
    JOIN dockerfile_copies x
      ON x.run_id = c.run_id AND x.repo = c.repo AND x.path = c.path AND x.stage_index = c.stage_index
    WHERE x.from_image IS NOT NULL
),
image_runtimes AS (
    SELECT subject_id,
           CASE
               WHEN regexp_matches(image_repo, '(^|/)(python|pypy|jupyter/[a-z-]+|continuumio/miniconda3)$') THEN 'python'
               WHEN regexp_matches(image_repo, '(^|/)node$') THEN 'node'
               WHEN regexp_matches(image_repo, '(^|/)(openjdk|eclipse-temurin|amazoncorretto|maven|gradle)$') THEN 'java'
               WHEN regexp_matches(image_repo, '(^|/)(ruby|jruby)$') THEN 'ruby'
               WHEN regexp_matches(image_repo, '(^|/)golang$') THEN 'go'
               WHEN regexp_matches(image_repo, '(^|/)php$') THEN 'php'
               WHEN regexp_matches(image_repo, '^dotnet/(runtime|aspnet|sdk)$') THEN 'dotnet'
               WHEN regexp_matches(image_repo, '(^|/)rust$') THEN 'rust'
               WHEN regexp_matches(image_repo, '(^|/)(r-base|rocker/[a-z-]+)$') THEN 'r'
           END AS runtime
    FROM images
),
-- Per subject aggregates, grouped once (not one subquery per subject and aggregate).
pkg_counts AS (
    SELECT subject_id, count(DISTINCT manager || ':' || package) AS package_count,
           list(DISTINCT manager ORDER BY manager) AS managers
    FROM pkgs
    GROUP BY subject_id
),
runtime_lists AS (
    SELECT subject_id, list(DISTINCT runtime ORDER BY runtime) AS runtimes
    FROM (SELECT subject_id, runtime FROM pkgs UNION ALL SELECT subject_id, runtime FROM image_runtimes)
    WHERE runtime IS NOT NULL
    GROUP BY subject_id
),
counted AS (
    SELECT o.subject_id, o.situation, coalesce(k.package_count, 0) AS package_count, r.runtimes, k.managers,
           f.start_line, coalesce(f.name, f.stage_index::VARCHAR) AS stage
    FROM subjects o
    JOIN dockerfile_stages f ON f.run_id = o.run_id AND f.repo = o.repo AND f.path = o.path AND f.is_final
    LEFT JOIN pkg_counts k ON k.subject_id = o.subject_id
    LEFT JOIN runtime_lists r ON r.subject_id = o.subject_id
    WHERE o.subject_kind = 'dockerfile'
)
SELECT c.subject_id, p.severity,
       format('the image is an all-in-one tool box: {}; start small and add what each job needs, or split it per tool',
              concat_ws(' and ',
                        CASE WHEN c.package_count > p.max_packages
                             THEN format('its stages install {} packages (more than {} for a {} image)',
                                         c.package_count, p.max_packages, o.profile) END,
                        CASE WHEN len(coalesce(c.runtimes, [])) > p.max_runtimes
                             THEN format('it carries {} language runtimes ({}; more than {})',
                                         len(c.runtimes), array_to_string(c.runtimes, ', '), p.max_runtimes) END))
           AS message,
       {'package_count': c.package_count, 'max_packages': p.max_packages, 'runtimes': coalesce(c.runtimes, []),
        'runtime_count': len(coalesce(c.runtimes, [])), 'max_runtimes': p.max_runtimes,
        'managers': coalesce(c.managers, [])} AS evidence,
       c.start_line AS line, c.stage, NULL AS key
FROM counted c
JOIN params p USING (situation)
JOIN subjects o USING (subject_id)
WHERE c.package_count > p.max_packages OR len(coalesce(c.runtimes, [])) > p.max_runtimes;
