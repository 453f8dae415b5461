-- Forfeits what is left in a tenant's expired lots: one ledger entry of kind 4 (expiry) drawing on them, earliest
-- expiry first. Holds granted before the lots expired are honoured: only what the holds do not need is forfeited now,
-- and the rest on a later run, once the calls have ended. Running it again forfeits nothing more.
-- KEYS[1] account hash, KEYS[2] pending settlements hash, KEYS[3] lots hash, KEYS[4] lot expiry order
-- ARGV[1] now ms
-- Reply: {'not_loaded'} | {'nothing'} | {'ok', forfeited micros, settlement}
local account, pending, lots, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch = redis.call('HGET', account, 'epoch')
if not epoch then
  return { 'not_loaded' }
end
local balance = tonumber(redis.call('HGET', account, 'balance'))
local held = tonumber(redis.call('HGET', account, 'held'))
local forfeit = math.min(expired_micros(lots, order, ARGV[1]), balance - held)
if forfeit <= 0 then
  return { 'nothing' }
end
local plan = plan_draws(lots, order, forfeit)
ensure(balance - forfeit >= held, 'an expiry would take money that holds need')

-- Writes start here.
local operation = redis.call('HINCRBY', account, 'opseq', 1)
local draws = apply_draws(lots, order, plan)
local record = settlement(epoch, operation, ARGV[1], 4, -forfeit, '', '', '', '', 'funds expired', nil, draws, nil,
                         'funds_expired', nil)
redis.call('HSET', pending, int(operation), record)
redis.call('HSET', account, 'balance', int(balance - forfeit))
return { 'ok', int(forfeit), record }
