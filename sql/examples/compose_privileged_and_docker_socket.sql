-- Which repositories run privileged Compose services, host namespaces or the Docker socket?
-- Any of these gives the container the host.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/compose_privileged_and_docker_socket.sql
SELECT repo, project_dir, service,
       privileged,
       mounts_docker_socket,
       network_mode = 'host' AS host_network,
       pid = 'host' AS host_pid
FROM latest_compose_services
WHERE privileged OR mounts_docker_socket OR network_mode = 'host' OR pid = 'host'
ORDER BY repo, project_dir, service;
