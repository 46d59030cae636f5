-- container-only-build: a repository whose Dockerfiles build software (go build, mvn, gradle,
-- cargo build, npm ci / run build, yarn, pip install . / -e / -r, setup.py, poetry, uv sync) while
-- the repository holds no build manifest the build could also run from (go.mod, pom.xml,
-- build.gradle, package.json, pyproject.toml / setup.py / requirements*.txt / Pipfile, Cargo.toml,
-- Bazel files, a Makefile). C/C++ builds (make, cmake, configure) are not judged: their
-- manifests (CMakeLists.txt, configure.ac, meson.build) are not among the files hullcheck lists.
WITH builds AS (
    SELECT o.subject_id, o.situation, o.repo, i.path, i.start_line,
           trim(regexp_extract(lower(i.text),
               '(^|[ ;&|(/])((go (build|install)|mvnw?|gradlew?|cargo (build|install --path)|npm (ci|run build|install)|'
               || 'yarn (install|build)|yarn$|pip3? install( +--?[a-z-]+(=[^ ]+)?)* +(\.|-e|-r|/)|python3? setup\.py|'
               || 'poetry install|uv sync)( [^&;|\n]*)?)($|[ &;|\n])', 2)) AS step
    FROM subjects o
    JOIN dockerfile_instructions i ON i.run_id = o.run_id AND i.repo = o.repo
    WHERE o.subject_kind = 'repo' AND i.keyword = 'RUN'
),
first_build AS (
    SELECT subject_id, situation, repo, path, start_line, step, count(*) OVER (PARTITION BY subject_id) AS steps
    FROM builds
    WHERE step <> '' AND NOT regexp_matches(step, '^go install [^ ]*@') AND NOT regexp_matches(step, '^npm install .*(-g|--global)\b')
    QUALIFY row_number() OVER (PARTITION BY subject_id ORDER BY path, start_line) = 1
)
SELECT b.subject_id, p.severity,
       format('{} builds its software only inside a Dockerfile ({} on {}:{}): the repository has no build manifest '
              || '(go.mod, pom.xml, build.gradle, package.json, pyproject.toml / requirements.txt, Cargo.toml, '
              || 'Makefile, Bazel) to build it anywhere else', b.repo, b.step, b.path, b.start_line) AS message,
       {'dockerfile': b.path, 'line': b.start_line, 'build_step': b.step, 'build_steps': b.steps,
        'manifests': []::VARCHAR[]} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM first_build b
JOIN params p USING (situation)
WHERE NOT EXISTS (
    SELECT 1 FROM repo_files f, subjects o
    WHERE o.subject_id = b.subject_id AND f.run_id = o.run_id AND f.repo = o.repo
      AND f.kind IN ('go_mod', 'maven', 'gradle', 'npm', 'python', 'cargo', 'bazel', 'makefile')
);
