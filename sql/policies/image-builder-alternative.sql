-- image-builder-alternative: a repository with a Go module (go.mod) or a Maven/Gradle project
-- whose Dockerfile builds it by hand (RUN go build / mvn / gradle, or COPY of a built jar), where
-- ko or jib would build the image. Not judged when the final stage installs OS packages (the
-- runtime needs more than a distroless base) or when the Go build enables cgo. One finding per
-- Dockerfile (key: its path).
WITH proj AS (
    SELECT o.subject_id, o.situation, o.run_id, o.repo,
           min(f.path) FILTER (f.kind = 'go_mod') AS go_mod,
           min(f.path) FILTER (f.kind IN ('maven', 'gradle')) AS java_build
    FROM subjects o
    JOIN repo_files f ON f.run_id = o.run_id AND f.repo = o.repo
    WHERE o.subject_kind = 'repo' AND f.kind IN ('go_mod', 'maven', 'gradle')
    GROUP BY ALL
),
steps AS (
    SELECT p.subject_id, p.situation, p.repo, p.go_mod, p.java_build, i.path, i.start_line, i.stage_index,
           CASE
               WHEN p.go_mod IS NOT NULL AND i.keyword = 'RUN'
                    AND regexp_matches(lower(i.text), '(^|[ ;&|(])go (build|install)( |$)')
                    AND NOT regexp_matches(lower(i.text), 'go install [^ ;&|]*@') THEN 'go'
               WHEN p.java_build IS NOT NULL AND i.keyword = 'RUN'
                    AND regexp_matches(lower(i.text), '(^|[ ;&|(/])(mvnw?|gradlew?)( |$)') THEN 'java'
               WHEN p.java_build IS NOT NULL AND i.keyword IN ('COPY', 'ADD')
                    AND regexp_matches(lower(i.text), '\.jar\b|(^| )target/|build/libs') THEN 'java'
           END AS lang
    FROM proj p
    JOIN dockerfile_instructions i ON i.run_id = p.run_id AND i.repo = p.repo
),
per_file AS (
    SELECT *, count(*) OVER (PARTITION BY subject_id, path) AS build_steps
    FROM steps WHERE lang IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY subject_id, path ORDER BY start_line) = 1
),
judged AS (
    SELECT b.*, p.run_id,
           (SELECT count(*) FROM dockerfile_packages k, dockerfile_stages s
            WHERE k.run_id = p.run_id AND k.repo = b.repo AND k.path = b.path
              AND s.run_id = k.run_id AND s.repo = k.repo AND s.path = k.path AND s.stage_index = k.stage_index
              AND s.is_final AND k.manager IN ('apt', 'apk', 'yum', 'dnf', 'microdnf', 'zypper')) AS final_os_packages,
           EXISTS (SELECT 1 FROM dockerfile_vars v
                   WHERE v.run_id = p.run_id AND v.repo = b.repo AND v.path = b.path
                     AND v."key" = 'CGO_ENABLED' AND v.value = '1')
           OR EXISTS (SELECT 1 FROM dockerfile_instructions i
                      WHERE i.run_id = p.run_id AND i.repo = b.repo AND i.path = b.path AND i.keyword = 'RUN'
                        AND i.text LIKE '%CGO_ENABLED=1%') AS cgo
    FROM per_file b
    JOIN proj p USING (subject_id)
)
SELECT j.subject_id, pa.severity,
       format('{} is a {} built into an image by the hand-written {} (line {}): {} would build the image '
              || 'from {} with no Dockerfile to maintain', j.repo,
              CASE j.lang WHEN 'go' THEN 'Go module' ELSE 'Maven/Gradle project' END, j.path, j.start_line,
              CASE j.lang WHEN 'go' THEN 'ko' ELSE 'jib' END,
              CASE j.lang WHEN 'go' THEN j.go_mod ELSE j.java_build END) AS message,
       {'dockerfile': j.path, 'line': j.start_line, 'language': j.lang,
        'builder': CASE j.lang WHEN 'go' THEN 'ko' ELSE 'jib' END,
        'manifest': CASE j.lang WHEN 'go' THEN j.go_mod ELSE j.java_build END, 'build_steps': j.build_steps} AS evidence,
       NULL AS line, NULL AS stage, j.path AS key
FROM judged j
JOIN params pa USING (situation)
WHERE j.final_os_packages = 0 AND NOT (j.lang = 'go' AND j.cgo);
