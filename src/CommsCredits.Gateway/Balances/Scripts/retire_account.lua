-- Drops a tenant's hot state unless it was built in the Redis process the gateway is talking to now: state that came
-- back with a restarted Redis (from its persistence files, or a promoted replica) may lack its latest writes, and the
-- next request rebuilds it from the ledger instead (RedisHotStore.Incarnation.cs).
-- KEYS[1] account hash; ARGV[1] the run id of the Redis process now serving
-- Reply: {'retired'} or {'kept'}
local built_in = redis.call('HGET', KEYS[1], 'inc')
if built_in == ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'kept' }
end
redis.call('DEL', KEYS[1])
return { 'retired' }
