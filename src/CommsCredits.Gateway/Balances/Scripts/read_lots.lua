-- Reads a tenant's balance, held amount and funding lots in one consistent snapshot. Changes nothing.
-- KEYS[1] account hash, KEYS[2] lots hash, KEYS[3] lot expiry order
-- Reply: {'not_loaded'} | {'ok', balance, held, then for each lot, the earliest expiry first: id, remaining micros,
--        expiry ms}
local account = redis.call('HMGET', KEYS[1], 'epoch', 'balance', 'held')
if not account[1] then
  return { 'not_loaded' }
end
local reply = { 'ok', account[2], account[3] }
local lots = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
for i = 1, #lots, 2 do
  reply[#reply + 1] = lots[i]
  reply[#reply + 1] = redis.call('HGET', KEYS[2], lots[i])
  reply[#reply + 1] = int(tonumber(lots[i + 1]))
end
return reply
