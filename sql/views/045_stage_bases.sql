-- What each Dockerfile stage builds on, at the root of its stage chain, and what the org knows
-- of that base (docs/schema.md, `stage_bases`): an image audited in a registry or layout, or an
-- image that an audited Compose file declares it builds (`image:` + `build:`), or nothing.
CREATE OR REPLACE VIEW stage_bases AS
-- Each node of a chain carries its own base, so the root's base is the deepest node's: no join of
-- the stages with themselves (on 3,000 stages of one file that join is 9,000,000 rows).
WITH RECURSIVE chain AS (
    SELECT run_id, repo, path, stage_index, stage_index AS root_index, base_kind, base_stage_index,
           base_normalized, base_resolved, base_tag, base_digest, 0 AS depth
    FROM dockerfile_stages
    UNION ALL
    SELECT c.run_id, c.repo, c.path, c.stage_index, p.stage_index, p.base_kind, p.base_stage_index,
           p.base_normalized, p.base_resolved, p.base_tag, p.base_digest, c.depth + 1
    FROM chain c
    JOIN dockerfile_stages p
      ON p.run_id = c.run_id AND p.repo = c.repo AND p.path = c.path AND p.stage_index = c.base_stage_index
    WHERE c.base_kind = 'stage' AND c.depth < 200
),
roots AS (
    SELECT run_id, repo, path, stage_index,
           arg_max({'root_index': root_index, 'base_kind': base_kind, 'base_normalized': base_normalized,
                    'base_resolved': base_resolved, 'base_tag': base_tag, 'base_digest': base_digest}, depth) AS b
    FROM chain GROUP BY run_id, repo, path, stage_index
),
audited AS (  -- images known now, by every name they can be written as
    SELECT registry || '/' || repository || ':' || tag AS ref, manifest_digest, tag_digest, "user", compressed_bytes,
           registry, repository, tag, run_id
    FROM latest_image_manifests
    QUALIFY row_number() OVER (PARTITION BY registry, repository, tag
                               ORDER BY (architecture = 'amd64') DESC, manifest_digest) = 1
),
built AS (  -- images the org's Compose files say they build, with the Dockerfile's final USER
    SELECT DISTINCT ON (c.image) c.image, c.repo, c.build_dockerfile AS dockerfile, st.final_user
    FROM latest_compose_services c
    JOIN latest_dockerfile_stages st
      ON st.repo = c.repo AND st.path = c.build_dockerfile AND st.is_final
    WHERE c.image IS NOT NULL AND c.build_dockerfile IS NOT NULL
    ORDER BY c.image, c.repo
),
-- Each root base matched by equality only (a reference, a manifest digest, an index digest; a
-- Compose image name): OR conditions in a join make DuckDB compare every stage with every image.
roots_resolved AS (
    SELECT s.run_id, s.repo, s.path, s.stage_index, s.commit_sha, s.name, s.start_line, s.is_final, s.final_user,
           r.b.root_index, r.b.base_kind, r.b.base_normalized, r.b.base_resolved, r.b.base_tag, r.b.base_digest,
           regexp_replace(r.b.base_normalized, '@.*$', '') AS base_ref
    FROM dockerfile_stages s
    JOIN roots r USING (run_id, repo, path, stage_index)
),
audited_keys AS (
    SELECT ref, ref AS k FROM audited
    UNION ALL SELECT ref, manifest_digest FROM audited
    UNION ALL SELECT ref, tag_digest FROM audited
),
audited_match AS (
    SELECT run_id, repo, path, stage_index, min(ref) AS ref
    FROM (
        SELECT x.run_id, x.repo, x.path, x.stage_index, a.ref
        FROM roots_resolved x JOIN audited_keys a ON a.k = x.base_ref
        WHERE x.base_kind = 'image'
        UNION ALL
        SELECT x.run_id, x.repo, x.path, x.stage_index, a.ref
        FROM roots_resolved x JOIN audited_keys a ON a.k = x.base_digest
        WHERE x.base_kind = 'image'
    )
    GROUP BY ALL
),
built_match AS (
    SELECT x.run_id, x.repo, x.path, x.stage_index, min(o.image) AS image
    FROM roots_resolved x
    JOIN built o ON o.image = x.base_resolved
    WHERE x.base_kind = 'image'
    GROUP BY ALL
    UNION ALL
    SELECT x.run_id, x.repo, x.path, x.stage_index, min(o.image)
    FROM roots_resolved x
    JOIN built o ON o.image = x.base_ref
    WHERE x.base_kind = 'image' AND x.base_ref <> x.base_resolved
    GROUP BY ALL
)
SELECT x.run_id, x.repo, x.path, x.commit_sha, x.stage_index, x.name AS stage_name, x.start_line, x.is_final,
       x.final_user,
       x.root_index, x.base_kind AS root_base_kind, x.base_normalized AS base_image, x.base_tag, x.base_digest,
       CASE
           WHEN x.base_kind = 'scratch' THEN 'scratch'
           WHEN a.ref IS NOT NULL THEN 'audited image'
           WHEN o.image IS NOT NULL THEN 'org build'
           WHEN x.base_kind = 'unresolved' THEN 'unresolved'
           ELSE 'unknown'
       END AS base_source,
       CASE WHEN a.ref IS NOT NULL THEN a.ref
            WHEN o.image IS NOT NULL THEN bo.repo || '/' || bo.dockerfile END AS base_known_as,
       CASE WHEN a.ref IS NOT NULL THEN ai."user" ELSE bo.final_user END AS base_user,
       ai.compressed_bytes AS base_compressed_bytes
FROM roots_resolved x
LEFT JOIN audited_match a USING (run_id, repo, path, stage_index)
LEFT JOIN audited ai ON ai.ref = a.ref
LEFT JOIN (SELECT run_id, repo, path, stage_index, min(image) AS image FROM built_match GROUP BY ALL) o
       USING (run_id, repo, path, stage_index)
LEFT JOIN built bo ON bo.image = o.image AND a.ref IS NULL;

-- The stages whose layers end up in each Dockerfile's image (docs/schema.md): the final stage
-- (depth 0) and every stage it builds on through `FROM <stage>`, with the final stage's index.
-- Chains deeper than 200 stages are cut (no real file comes close; a hostile one cannot explode).
CREATE OR REPLACE VIEW dockerfile_shipped_stages AS
WITH RECURSIVE chain AS (
    SELECT run_id, repo, path, stage_index AS final_index, stage_index, base_kind, base_stage_index, 0 AS depth
    FROM dockerfile_stages
    WHERE is_final
    UNION ALL
    SELECT c.run_id, c.repo, c.path, c.final_index, p.stage_index, p.base_kind, p.base_stage_index, c.depth + 1
    FROM chain c
    JOIN dockerfile_stages p
      ON p.run_id = c.run_id AND p.repo = c.repo AND p.path = c.path AND p.stage_index = c.base_stage_index
    WHERE c.base_kind = 'stage' AND c.depth < 200
)
SELECT run_id, repo, path, stage_index, final_index, depth FROM chain;
