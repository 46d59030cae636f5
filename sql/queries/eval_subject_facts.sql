-- Every subject of the evaluation, numbered (repositories first: an image's lineage needs its
-- repository's owner), with what decides its owner and profile: read from the evaluation's scoped
-- copies of the fact views (sql/queries/eval_scope_*.sql), so they hold the facts in effect only.
-- The engine decides owners (policy/ownership.py) and joins its decisions back by subject_id.
CREATE OR REPLACE TABLE hullcheck_eval.main.subject_facts AS
WITH labels AS (
    SELECT registry, repository, tag,
           arg_min_null(list_filter(labels, lambda x: x."key" = 'org.hullcheck.team')[1]."value", manifest_digest)
               AS label_team,
           arg_min_null(list_filter(labels, lambda x: x."key" = 'org.hullcheck.profile')[1]."value", manifest_digest)
               AS label_profile
    FROM image_manifests GROUP BY ALL
),
lineage AS (
    SELECT registry, repository, tag, arg_min(git_repo, manifest_digest) AS lineage_repo
    FROM image_lineage WHERE git_repo IS NOT NULL GROUP BY ALL
),
every AS (
    SELECT 1 AS k, 'repo' AS subject_kind, repo AS subject, repo, NULL::VARCHAR AS path, NULL::VARCHAR AS service,
           NULL::VARCHAR AS registry, NULL::VARCHAR AS repository, NULL::VARCHAR AS tag, NULL::VARCHAR AS digest,
           run_id, commit_sha, NULL::VARCHAR AS label_team, NULL::VARCHAR AS label_profile,
           NULL::VARCHAR AS lineage_repo
    FROM scope_git
    UNION ALL
    SELECT 2, 'dockerfile', repo || '/' || path, repo, path, NULL, NULL, NULL, NULL, NULL, run_id, commit_sha,
           NULL, NULL, NULL
    FROM dockerfiles
    UNION ALL
    SELECT 3, 'compose_service', repo || '/' || project_files[1] || '#' || service, repo, project_files[1],
           service, NULL, NULL, NULL, NULL, run_id, commit_sha, NULL, NULL, NULL
    FROM compose_services
    UNION ALL
    SELECT 4, 'image', i.registry || '/' || i.repository || ':' || i.tag, NULL, NULL, NULL, i.registry,
           i.repository, i.tag, i.digest, i.run_id, NULL, l.label_team, l.label_profile, g.lineage_repo
    FROM scope_images i
    LEFT JOIN labels l USING (registry, repository, tag)
    LEFT JOIN lineage g USING (registry, repository, tag)
)
SELECT (row_number() OVER (ORDER BY k, repo, path, service, registry, repository, tag))::INTEGER AS subject_id,
       * EXCLUDE (k)
FROM every;
