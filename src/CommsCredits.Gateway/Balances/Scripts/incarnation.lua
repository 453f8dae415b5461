-- Which Redis dataset this primary serves, and which one its hot state was last checked against
-- (RedisHotStore.Incarnation.cs). The identity is the process's run id (it changes with every start) and its
-- replication id (it changes when a replica is promoted, even one whose process has run for days): a dataset that came
-- back from disk or from a replica that may lack the last writes always has a new identity.
-- KEYS[1] the incarnation marker of this primary (a key in a slot it owns; in a Redis Cluster one per primary)
-- ARGV[1] (optional) the identity whose accounts have just been checked: recorded in the marker, unless this primary's
-- identity has changed since (then the marker stays as it was, and the next check looks again)
-- Reply: {identity of this primary, the marker's identity or false}
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local replication_id = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
ensure(run_id and replication_id, 'INFO reports no run_id or master_replid')
local identity = run_id .. ':' .. replication_id
if ARGV[1] == identity then
  redis.call('SET', KEYS[1], identity)
end
return { identity, redis.call('GET', KEYS[1]) }
