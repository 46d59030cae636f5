-- What a repository's crawl had to repair before it could read (stale lock files left by an
-- interrupted git process, a mirror cloned again): said in the snapshot row, not hidden.
ALTER TABLE git_snapshots ADD COLUMN note VARCHAR;
