SELECT policy_id, severity, team, profile, subject_kind, subject, repo, path, line, stage, service, image,
       message, evidence, params, fingerprint, waived
FROM findings WHERE run_id = ? AND policy_id = ?
ORDER BY subject, line;
