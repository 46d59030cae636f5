-- Which RUN instructions install packages but leave the package manager's cache in the layer?
-- Latest audit; one row per RUN and package manager, with the packages it installs.
-- cache_cleaned = false means no cleanup, cache mount or no-cache flag was found in that RUN
-- (NULL, "cannot tell for this manager", is not listed).
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/runs_leaving_package_caches.sql
SELECT
    repo,
    path,
    line,
    manager,
    count(*) AS package_count,
    list(package ORDER BY package) AS packages
FROM latest_dockerfile_packages
WHERE cache_cleaned = false
GROUP BY repo, path, line, manager
ORDER BY repo, path, line, manager;
