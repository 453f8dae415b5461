-- Reads what the reconciliation compares with the ledger, in one consistent snapshot. Changes nothing.
-- KEYS[1] account hash, KEYS[2] lots hash, KEYS[3] pending settlements hash
-- ARGV[1] the most pending settlements to return (Reconciliation:MaxPendingSettlements)
-- Reply: {'not_loaded'}
--      | {'ok', epoch, balance, held, opseq, lots sum ('' when a lot is not a number), lot count, pending count, then
--         every pending settlement when there are at most ARGV[1] of them}
-- The lots hash is bounded by Funding:MaxOpenLotsPerTenant, the pending settlements returned by ARGV[1].
local account = redis.call('HMGET', KEYS[1], 'epoch', 'balance', 'held', 'opseq')
if not account[1] then
  return { 'not_loaded' }
end
local lots = redis.call('HVALS', KEYS[2])
local lots_sum = 0
for i = 1, #lots do
  local remaining = tonumber(lots[i])
  if not remaining or not lots_sum then
    lots_sum = nil
  else
    lots_sum = lots_sum + remaining
  end
end
local pending_count = redis.call('HLEN', KEYS[3])
local reply = { 'ok', account[1], account[2] or '', account[3] or '', account[4] or '0',
                lots_sum and int(lots_sum) or '', int(#lots), int(pending_count) }
if pending_count <= tonumber(ARGV[1]) then
  local pending = redis.call('HVALS', KEYS[3])
  for i = 1, #pending do
    reply[#reply + 1] = pending[i]
  end
end
return reply
