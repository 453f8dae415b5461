-- Which Redis dataset this primary serves (dataset_identity, common.lua), and which one its hot state was last checked
-- against (RedisHotStore.Incarnation.cs).
-- KEYS[1] the incarnation marker of this primary (a key in a slot it owns; in a Redis Cluster one per primary)
-- ARGV[1] (optional) the identity whose accounts have just been checked: recorded in the marker, unless this primary's
-- identity has changed since (then the marker stays as it was, and the next check looks again)
-- Reply: {identity of this primary, the marker's identity or false}
local identity = dataset_identity()
if ARGV[1] == identity then
  redis.call('SET', KEYS[1], identity)
end
return { identity, redis.call('GET', KEYS[1]) }
