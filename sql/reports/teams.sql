-- Teams of the newest evaluation (profile, address, what they own).
SELECT team, profile, email, repos_owned, dockerfiles_owned, services_owned, images_owned FROM teams ORDER BY team;
