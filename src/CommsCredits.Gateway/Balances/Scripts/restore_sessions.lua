-- Writes sessions in progress, restored from the session journal, into a tenant's hot state being rebuilt, before
-- load_account.lua installs the account: no request can reach them until then. Runs in chunks under the rebuild lock.
-- KEYS[1] account hash, KEYS[2] session deadlines, KEYS[3...] the session hashes, one for each session in ARGV
-- ARGV for every session: session id, deadline ms, the number of fields P, then P name/value pairs of its hash
-- The deadlines of the old state's sessions stay: the supervisor finds them due and deletes the sessions that were not
-- restored (usage.lua), which a state brought back from disk may hold open.
-- Reply: {'restored', n} | {'present', epoch of the state already there}
local existing = redis.call('HGET', KEYS[1], 'epoch')
if existing then
  return { 'present', existing }
end
local position = 1
for k = 3, #KEYS do
  local count = tonumber(ARGV[position + 2])
  ensure(count and count > 0 and position + 2 + 2 * count <= #ARGV, 'restore arguments are malformed')
  redis.call('DEL', KEYS[k])
  -- HSET in slices: unpack is bounded by the Lua stack.
  local first = position + 3
  local last = position + 2 + 2 * count
  for slice = first, last, 400 do
    redis.call('HSET', KEYS[k], unpack(ARGV, slice, math.min(slice + 399, last)))
  end
  redis.call('ZADD', KEYS[2], ARGV[position + 1], ARGV[position])
  position = last + 1
end
ensure(position == #ARGV + 1, 'restore arguments are malformed')
return { 'restored', int(#KEYS - 2) }
