-- CCR-EVENT with DIRECT_DEBITING: rates and debits a whole call at once, all or nothing. The pool that covers the call
-- pays for as many seconds as it has free; the rest is on credit.
-- KEYS[1] account hash, KEYS[2] event session hash, KEYS[3] pending settlements hash, KEYS[4] lots hash,
--     KEYS[5] lot expiry order
-- ARGV[1] fingerprint, [2] now ms, [3] used seconds (> 0), [4] rate micros per minute, [5] connection fee micros,
--     [6] first increment s, [7] next increment s, [8] call type, [9] user id, [10] calling number,
--     [11] called number, [12] destination name, [13] rated prefix, [14] rate effective from ms, [15] session id,
--     [16] retention seconds, [17] pool id or '', [18] pool size seconds, [19] month (YYYYMM, UTC), [20] '1' when
--     the call may draw on credits, [21] the tenant's auto-recharge trigger in micros, or '' when it is off,
--     [22] its low-balance warning levels in micros joined by ',', or ''
-- Reply: {'not_loaded'} | {'replay', answer, pending settlement or '', tariff...} | {'ok', answer, settlement or '',
--        tariff...} where the tariff is the one stored with the event: destination, prefix, rate, fee, first, next,
--        effective from ms.
local account, session, pending, lots, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local epoch = redis.call('HGET', account, 'epoch')
if not epoch then
  return { 'not_loaded' }
end
local function with_tariff(status, answer, record)
  local t = redis.call('HMGET', session, 'dst', 'pfx', 'r', 'f', 'fi', 'ni', 'eff')
  return { status, answer, record, t[1], t[2], t[3], t[4], t[5], t[6], t[7] }
end
local stored, stored_record = stored_answer(session, '0', epoch, pending)
if stored then
  return with_tariff('replay', stored, stored_record)
end

local balance = tonumber(redis.call('HGET', account, 'balance'))
local held = tonumber(redis.call('HGET', account, 'held'))
local used = tonumber(ARGV[3])
local rate, fee, first, next_increment = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local pool, month, credits_allowed = ARGV[17], ARGV[19], ARGV[20] == '1'
local pool_used, pool_held, pool_part = 0, 0, 0
if pool ~= '' then
  pool_used, pool_held = pool_counters(account, pool, month)
  pool_part = math.min(used, pool_free(tonumber(ARGV[18]), pool_used, pool_held))
end
local credit_seconds = used - pool_part
local credit_billed, charge = 0, 0
if credit_seconds > 0 then
  credit_billed = billed_seconds(credit_seconds, first, next_increment)
  charge = cost_micros(credit_billed, rate, fee)
end
local billed = pool_part + credit_billed
local code = 2001
local plan = {}
if credit_seconds > 0 and not credits_allowed then
  code = 4010
elseif charge > spendable(balance, held, expired_micros(lots, order, ARGV[2])) then
  code = 4012
else
  plan = plan_draws(lots, order, charge)
end

-- Writes start here. A record of an older epoch, if any, is replaced.
redis.call('DEL', session)
local operation = 0
local record = ''
local charged = 0
if code == 2001 then
  charged = charge
  operation = redis.call('HINCRBY', account, 'opseq', 1)
  local kind = 0
  if charge > 0 then
    kind = 2
  end
  local start_ms = int(tonumber(ARGV[2]) - used * 1000)
  local call = { ARGV[9], ARGV[8], ARGV[10], ARGV[11], start_ms, ARGV[2], int(used), int(billed), int(charge), '0',
                 ARGV[12], ARGV[13], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[14], '0', int(pool_part),
                 pool_part > 0 and pool or '' }
  local pool_record = nil
  if pool_part > 0 then
    pool_record = { pool, pool_part, month }
    write_pool_counters(account, pool, month, pool_used + pool_part, pool_held)
  end
  local draws = apply_draws(lots, order, plan)
  record = settlement(epoch, operation, ARGV[2], kind, -charge, ARGV[15], '0', int(operation), '', '', nil, draws,
                      pool_record, debit_events(balance, balance - charge, ARGV[21], ARGV[22]), call)
  redis.call('HSET', pending, int(operation), record)
  redis.call('HSET', account, 'balance', int(balance - charge))
end
local answer = encode({ int(code), '0', '0', '0', int(charged), int(charged), '0', int(used), int(billed),
                        int(operation), ARGV[1], '0', int(code == 2001 and pool_part or 0) })
redis.call('HSET', session, 'ep', epoch, 'state', 'closed', 'sid', ARGV[15], 'a:0', answer, 'o:0', int(operation),
  'dst', ARGV[12], 'pfx', ARGV[13], 'r', ARGV[4], 'f', ARGV[5], 'fi', ARGV[6], 'ni', ARGV[7], 'eff', ARGV[14])
redis.call('EXPIRE', session, ARGV[16])
return with_tariff('ok', answer, record)
