-- bazel-in-repo: the repository builds with Bazel (a WORKSPACE / MODULE.bazel / .bazelrc /
-- .bazelversion / BUILD.bazel / *.bzl file) where the situation does not allow it. Plain `BUILD`
-- files alone are not enough: Pants and others use that name too.
WITH marks AS (
    SELECT o.subject_id, o.situation, o.repo,
           list(f.path ORDER BY length(f.path) - length(replace(f.path, '/', '')),
                                CASE WHEN regexp_matches(f.path, '(^|/)(MODULE\.bazel|WORKSPACE(\.bazel)?)$') THEN 0
                                     WHEN f.path LIKE '%BUILD.bazel' OR f.path LIKE '%.bzl' THEN 2 ELSE 1 END,
                                f.path) FILTER (
               regexp_matches(f.path, '(^|/)(WORKSPACE(\.bazel)?|MODULE\.bazel|\.bazelrc|\.bazelversion|BUILD\.bazel)$')
               OR f.path LIKE '%.bzl') AS markers,
           count(*) FILTER (regexp_matches(f.path, '(^|/)BUILD(\.bazel)?$')) AS build_files
    FROM subjects o
    JOIN repo_files f ON f.run_id = o.run_id AND f.repo = o.repo AND f.kind = 'bazel'
    WHERE o.subject_kind = 'repo'
    GROUP BY ALL
)
SELECT m.subject_id, p.severity,
       format('{} builds with Bazel ({}{}), and its situation does not allow Bazel (allow: false)', m.repo,
              m.markers[1], CASE WHEN len(m.markers) > 1 THEN format(' and {} more Bazel files', len(m.markers) - 1)
                                 ELSE '' END) AS message,
       {'markers': m.markers[1:10], 'build_files': m.build_files, 'allow': p.allow} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM marks m
JOIN params p USING (situation)
WHERE len(m.markers) > 0 AND NOT p.allow;
