-- What the owner of each subject is decided on, in subject order.
SELECT subject_id, subject_kind, repo, path, registry, repository, tag, label_team, label_profile,
       lineage_repo
FROM subject_facts ORDER BY subject_id;
