-- Adds money to a balance: an admin funding (kind 1) or a REFUND_ACCOUNT event (kind 3). Idempotent on its
-- request key: the same key again returns the first answer and adds nothing. The money becomes a funding lot of its
-- own, named by the ledger entry's epoch and operation number, expiring at the time given.
-- KEYS[1] account hash, KEYS[2] request hash (funding key or event session), KEYS[3] pending settlements hash,
--     KEYS[4] lots hash, KEYS[5] lot expiry order
-- ARGV[1] fingerprint, [2] now ms, [3] amount micros (> 0), [4] kind, [5] session id or '', [6] reference,
--     [7] note, [8] max balance micros, [9] retention seconds of the request record, [10] lot expiry ms (> now),
--     [11] lot source, [12] most lots a tenant may hold, [13] the recharge request this funding pays ('' for none)
-- Reply: {'not_loaded'} | {'balance_limit'} | {'lot_limit'} | {'replay', answer, pending settlement or ''}
--      | {'ok', answer, settlement}
-- The answer is encode{code, amount, balance after, held after, operation, fingerprint}.
local account, request, pending, lots, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- A recharge's funding marks its request succeeded, with the balance it left, in the same ledger transaction.
local function recharge_events(recharge, balance_after)
  if recharge == '' then
    return ''
  end
  return 'recharge_succeeded=' .. recharge .. '/' .. int(balance_after)
end
local epoch = redis.call('HGET', account, 'epoch')
if not epoch then
  return { 'not_loaded' }
end
local answer, record = stored_answer(request, '0', epoch, pending)
if answer then
  return { 'replay', answer, record }
end

local balance = tonumber(redis.call('HGET', account, 'balance'))
local held = tonumber(redis.call('HGET', account, 'held'))
local amount = tonumber(ARGV[3])
ensure(amount > 0, 'credit amount must be positive')
ensure(tonumber(ARGV[10]) > tonumber(ARGV[2]), 'a lot must expire after it is bought')
if balance + amount > tonumber(ARGV[8]) then
  return { 'balance_limit' }
end
if redis.call('HLEN', lots) >= tonumber(ARGV[12]) then
  return { 'lot_limit' }
end

-- Writes start here. A record of an older epoch, if any, is replaced.
redis.call('DEL', request)
local operation = redis.call('HINCRBY', account, 'opseq', 1)
-- A funding has no session; a refund event is request 0 of its own event session.
local request_number = ''
if ARGV[5] ~= '' then
  request_number = '0'
end
record = settlement(epoch, operation, ARGV[2], tonumber(ARGV[4]), amount, ARGV[5], request_number, '', ARGV[6],
                    ARGV[7], { ARGV[10], ARGV[11] }, '', nil, recharge_events(ARGV[13], balance + amount), nil)
local lot = epoch .. '.' .. int(operation)
redis.call('HSET', lots, lot, int(amount))
redis.call('ZADD', order, ARGV[10], lot)
redis.call('HSET', pending, int(operation), record)
redis.call('HSET', account, 'balance', int(balance + amount))
answer = encode({ '2001', int(amount), int(balance + amount), int(held), int(operation), ARGV[1] })
redis.call('HSET', request, 'ep', epoch, 'a:0', answer, 'o:0', int(operation))
redis.call('EXPIRE', request, ARGV[9])
return { 'ok', answer, record }
