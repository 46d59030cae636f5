-- `hullcheck explain`: the newest finding whose fingerprint starts with $1, with how its owner was decided.
SELECT f.fingerprint, f.run_id, f.effective_at, f.policy_id, f.severity, f.team, f.profile, f.subject_kind,
       f.subject, f.repo, f.path, f.line, f.stage, f.service, f.image, f.digest, f.message, f.evidence, f.params,
       f.waived, f.waiver_reason, f.waiver_expires, f.waived_by, f.catalog_version, f.config_hash,
       o.decided_by, o.profile_by, o.situation
FROM findings f
JOIN ownership o ON o.evaluation_id = f.evaluation_id AND o.subject = f.subject AND o.subject_kind = f.subject_kind
WHERE starts_with(f.fingerprint, ?)
ORDER BY f.effective_at DESC, f.run_id DESC
LIMIT 2;
