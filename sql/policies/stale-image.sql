-- stale-image: an image built (config `created`) more days before the audit than the situation
-- tolerates. Reproducible builds (ko, jib, Bazel, Nix, SOURCE_DATE_EPOCH=0) stamp the epoch
-- rather than the build time: a date before 1980 says nothing of the age and is not judged, nor
-- is a date after the audit (a builder's clock). One finding per tag, its newest platform image.
WITH aged AS (
    SELECT o.subject_id, o.situation, o.subject, o.profile, m.created, m.os, m.architecture, m.manifest_digest,
           r.effective_at AS audited_at,
           datediff('day', m.created, r.effective_at) AS age_days
    FROM subjects o
    JOIN image_manifests m
      ON m.run_id = o.run_id AND m.registry = o.registry AND m.repository = o.repository AND m.tag = o.tag
    JOIN runs r ON r.run_id = o.run_id
    WHERE o.subject_kind = 'image'
      AND m.created >= TIMESTAMPTZ '1980-01-01 00:00:00+00' AND m.created <= r.effective_at
    QUALIFY row_number() OVER (PARTITION BY o.subject_id ORDER BY m.created DESC, m.manifest_digest) = 1
)
SELECT a.subject_id, p.severity,
       format('{} was built on {} ({} days before this audit), older than the {} days a {} image may go '
              || 'without a rebuild', a.subject, strftime(timezone('UTC', a.created), '%Y-%m-%d'), a.age_days, p.max_age_days,
              a.profile) AS message,
       {'created': strftime(timezone('UTC', a.created), '%Y-%m-%dT%H:%M:%SZ'), 'age_days': a.age_days,
        'max_age_days': p.max_age_days, 'over_by_days': a.age_days - p.max_age_days,
        'platform': a.os || '/' || a.architecture, 'manifest_digest': a.manifest_digest} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM aged a
JOIN params p USING (situation)
WHERE a.age_days > p.max_age_days;
