-- Drops a tenant's hot state unless it was built in the Redis dataset that serves it now: state that came back with a
-- restarted Redis (from its persistence files) or with a promoted replica may lack its latest writes, and the next
-- request rebuilds it from the ledger instead (RedisHotStore.Incarnation.cs). An account records the identities of
-- every primary the gateway knew when it was built (comma-separated); it is kept when the primary running this script,
-- which owns its slot, is one of them (dataset_identity, common.lua).
-- KEYS[1] account hash
-- Reply: {'retired'} or {'kept'}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'kept' }
end
local built_in = redis.call('HGET', KEYS[1], 'inc') or ''
if string.find(',' .. built_in .. ',', ',' .. dataset_identity() .. ',', 1, true) then
  return { 'kept' }
end
redis.call('DEL', KEYS[1])
return { 'retired' }
