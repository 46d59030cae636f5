-- What the evaluation's copies of the fact views keep: the snapshots and tags of its subjects.
CREATE OR REPLACE TEMP TABLE scope_git AS
SELECT DISTINCT run_id, repo FROM subjects WHERE repo IS NOT NULL;
CREATE OR REPLACE TEMP TABLE scope_images AS
SELECT DISTINCT run_id, registry, repository, tag FROM subjects WHERE subject_kind = 'image';
