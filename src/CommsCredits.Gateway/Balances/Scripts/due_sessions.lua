-- Lists the open sessions whose supervision deadline has passed, earliest first. Changes nothing: usage.lua, in its
-- supervision mode, decides atomically whether each one is still due.
-- KEYS[1] session deadlines (sorted set: session id by deadline ms)
-- ARGV[1] now ms, [2] most session ids to return
-- Reply: {'ok', session id, ...}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
table.insert(due, 1, 'ok')
return due
