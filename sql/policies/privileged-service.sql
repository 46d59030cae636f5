-- privileged-service: a Compose service that gets the host: `privileged: true`, the host's
-- network, pid or ipc namespace, or a Docker socket mount. One finding per way in (key).
WITH svc AS (
    SELECT o.subject_id, o.situation, o.service, c.privileged, c.network_mode, c.pid, c.ipc, c.image,
           c.mounts_docker_socket,
           list_filter(c.volumes, lambda v: coalesce(v."source", '') LIKE '%docker.sock') AS sockets
    FROM subjects o
    JOIN compose_services c
      ON c.run_id = o.run_id AND c.repo = o.repo AND c.project_files[1] = o.path AND c.service = o.service
    WHERE o.subject_kind = 'compose_service'
),
found AS (
    SELECT subject_id, situation, service, image, 'privileged' AS what, 'privileged: true' AS setting, NULL AS mount
    FROM svc WHERE privileged
    UNION ALL
    SELECT subject_id, situation, service, image, 'host network', 'network_mode: ' || network_mode, NULL
    FROM svc WHERE lower(network_mode) = 'host'
    UNION ALL
    SELECT subject_id, situation, service, image, 'host pid', 'pid: ' || pid, NULL
    FROM svc WHERE lower(pid) = 'host'
    UNION ALL
    SELECT subject_id, situation, service, image, 'host ipc', 'ipc: ' || ipc, NULL
    FROM svc WHERE lower(ipc) = 'host'
    UNION ALL
    SELECT subject_id, situation, service, image, 'docker socket',
           'volume ' || coalesce(sockets[1]."source", '?') || ':' || coalesce(sockets[1]."target", '?')
               || CASE WHEN sockets[1].read_only THEN ' (read-only)' ELSE '' END,
           sockets[1]."source"
    FROM svc WHERE mounts_docker_socket
)
SELECT f.subject_id,
       CASE WHEN f.what = 'docker socket' THEN p.socket_severity ELSE p.severity END AS severity,
       CASE f.what
           WHEN 'privileged' THEN format('service {} runs privileged (privileged: true): every capability and '
                                         || 'device of the host', f.service)
           WHEN 'host network' THEN format('service {} uses the host network (network_mode: host): it can reach '
                                           || 'every port of the host, localhost included', f.service)
           WHEN 'host pid' THEN format('service {} shares the host pid namespace (pid: host): it sees and can '
                                       || 'signal every process of the host', f.service)
           WHEN 'host ipc' THEN format('service {} shares the host ipc namespace (ipc: host)', f.service)
           ELSE format('service {} mounts the Docker socket ({}): whoever controls it is root on the host '
                       || '(a read-only mount does not help: the API still answers)', f.service, f.mount)
       END AS message,
       {'what': f.what, 'setting': f.setting, 'image': f.image,
        'severity_param': CASE WHEN f.what = 'docker socket' THEN 'socket_severity' ELSE 'severity' END} AS evidence,
       NULL AS line, NULL AS stage, f.what AS key
FROM found f
JOIN params p USING (situation);
