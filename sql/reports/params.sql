-- Every policy's parameters per situation in evaluation $1, with where each value came from.
SELECT policy_id, team, profile, scope AS situation, "key", "value", source, set_by
FROM policy_params WHERE evaluation_id = $1 ORDER BY policy_id, team, scope, "key";
