-- Which Redis process this is, and which one the hot state was last checked against (RedisHotStore.Incarnation.cs).
-- KEYS[1] the incarnation marker
-- Reply: {run id of this server process (it changes with every start), the marker's run id or false}
local info = redis.call('INFO', 'server')
local run_id = string.match(info, 'run_id:(%x+)')
ensure(run_id, 'INFO server reports no run_id')
return { run_id, redis.call('GET', KEYS[1]) }
