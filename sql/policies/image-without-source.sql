-- image-without-source: an image whose labels and manifest annotations do not name its source
-- repository (org.opencontainers.image.source, or the older org.label-schema.vcs-url) or, where
-- required, its commit (org.opencontainers.image.revision / org.label-schema.vcs-ref).
-- One finding per tag: the first platform image missing something.
WITH meta AS (
    SELECT o.subject_id, o.situation, o.subject, m.manifest_digest, m.os, m.architecture,
           list_concat(list_transform(m.labels, lambda x: {'key': x."key", 'value': x."value", 'from': 'label'}),
                       list_transform(m.annotations, lambda x: {'key': x."key", 'value': x."value",
                                                               'from': 'annotation'})) AS kv
    FROM subjects o
    JOIN image_manifests m
      ON m.run_id = o.run_id AND m.registry = o.registry AND m.repository = o.repository AND m.tag = o.tag
    WHERE o.subject_kind = 'image'
),
found AS (
    SELECT *,
           list_filter(kv, lambda x: x."key" IN ('org.opencontainers.image.source', 'org.label-schema.vcs-url')
                                     AND trim(coalesce(x."value", '')) <> '')[1] AS source,
           list_filter(kv, lambda x: x."key" IN ('org.opencontainers.image.revision', 'org.label-schema.vcs-ref')
                                     AND trim(coalesce(x."value", '')) <> '')[1] AS revision
    FROM meta
)
SELECT f.subject_id, p.severity,
       CASE
           WHEN f.source IS NULL AND f.revision IS NULL THEN
               format('{} names neither its source repository nor its commit '
                      || '(no org.opencontainers.image.source / .revision label or annotation)', f.subject)
           WHEN f.source IS NULL THEN
               format('{} names its commit {} but not its source repository (no org.opencontainers.image.source)',
                      f.subject, f.revision."value")
           ELSE format('{} names its source {} but not the commit it was built from '
                       || '(no org.opencontainers.image.revision; the situation requires it)',
                       f.subject, f.source."value")
       END AS message,
       {'missing': CASE WHEN f.source IS NULL AND f.revision IS NULL THEN 'source and revision'
                        WHEN f.source IS NULL THEN 'source' ELSE 'revision' END,
        'source': f.source."value", 'source_from': f.source."from",
        'revision': f.revision."value", 'require_revision': p.require_revision,
        'platform': f.os || '/' || f.architecture, 'manifest_digest': f.manifest_digest} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM found f
JOIN params p USING (situation)
WHERE f.source IS NULL OR (f.revision IS NULL AND p.require_revision)
QUALIFY row_number() OVER (PARTITION BY f.subject_id ORDER BY f.manifest_digest) = 1;
