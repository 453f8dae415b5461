-- CCR-UPDATE and CCR-TERMINATION: debits the seconds used since the previous request, then either reserves the
-- next slice (update) or releases the hold and closes the session (termination).
--
-- Charging is cumulative: the session owes cost(billed(total used)) in all, and each request debits what that
-- total adds to what was already debited. So out-of-sequence updates (RFC 8506 section 5.1) charge the same total
-- in any order, and the rounding to billing increments happens once per call, never per slice.
--
-- KEYS[1] account hash, KEYS[2] session hash, KEYS[3] pending settlements hash, KEYS[4] lots hash, KEYS[5] lot expiry
--     order
-- ARGV[1] request number, [2] fingerprint, [3] now ms, [4] used seconds, [5] requested seconds (> 0 for an
--     update), [6] validity seconds, [7] max session seconds, [8] '1' to terminate, [9] termination cause,
--     [10] retention seconds after termination, [11] max requests per session
-- Reply: {'not_loaded'} | {'unknown_session'} | {'closed'} | {'too_many_requests'} | {'too_long'}
--      | {'replay', answer, pending settlement or ''} | {'ok', answer, settlement or ''}
local account, session, pending, lots, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local epoch = redis.call('HGET', account, 'epoch')
if not epoch then
  return { 'not_loaded' }
end

local request = ARGV[1]
local s = redis.call('HMGET', session, 'ep', 'state')
if s[1] ~= epoch or s[2] == 'denied' then
  -- Never opened, forgotten, or opened under a hot state that has since been rebuilt.
  return { 'unknown_session' }
end
local stored, stored_record = stored_answer(session, request, epoch, pending)
if stored then
  return { 'replay', stored, stored_record }
end
if s[2] ~= 'open' then
  return { 'closed' }
end

local v = redis.call('HMGET', session, 'u', 'd', 'h', 'r', 'f', 'fi', 'ni', 'sh', 'requests')
local used_before, debited_before, hold_before = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
local rate, fee, first, next_increment = tonumber(v[4]), tonumber(v[5]), tonumber(v[6]), tonumber(v[7])
local uncharged_before, requests = tonumber(v[8]), tonumber(v[9])
if requests >= tonumber(ARGV[11]) then
  return { 'too_many_requests' }
end
local max_session = tonumber(ARGV[7])
local used = used_before + tonumber(ARGV[4])
if used > max_session then
  return { 'too_long' }
end
local terminate = ARGV[8] == '1'

local balance = tonumber(redis.call('HGET', account, 'balance'))
local held = tonumber(redis.call('HGET', account, 'held'))
local billed = billed_seconds(used, first, next_increment)
local charge = cost_micros(billed, rate, fee) - debited_before
ensure(charge >= 0, 'session was debited more than its usage costs')
-- The session's own hold is there to pay for this; what the hold does not cover comes from the available balance,
-- and what neither covers (usage past the grant) is recorded as uncharged, never as a negative balance. Money of
-- expired lots pays for the hold granted before it expired, nothing more.
local expired = expired_micros(lots, order, ARGV[3])
local payable = math.min(charge, hold_before + spendable(balance, held, expired))
local plan = plan_draws(lots, order, payable)
local uncharged = charge - payable
local new_balance = balance - payable
local new_held = held - hold_before
local debited = debited_before + payable

local code, granted, hold, final = 2001, 0, 0, 0
if not terminate then
  -- The debit drew on the earliest lots, so on expired money first.
  local spendable_after = spendable(new_balance, new_held, math.max(0, expired - payable))
  local total = affordable_total_seconds(debited, spendable_after, rate, fee, first, next_increment, max_session)
  local room = total - used
  granted = math.max(0, math.min(tonumber(ARGV[5]), room))
  if granted > 0 then
    hold = cost_micros(billed_seconds(used + granted, first, next_increment), rate, fee) - debited
    if room < tonumber(ARGV[5]) then
      final = 1
    end
  else
    code = 4012
  end
end
ensure(new_balance >= 0, 'balance would go negative')
ensure(hold >= 0 and hold <= new_balance - new_held, 'new hold exceeds the available balance')
ensure(payable == 0 or #plan > 0, 'a debit without lots to draw on')

-- Writes start here.
local operation = 0
local record = ''
if payable > 0 or terminate then
  operation = redis.call('HINCRBY', account, 'opseq', 1)
  local call = nil
  if terminate then
    local c = redis.call('HMGET', session, 'user', 'ct', 'from', 'to', 't0', 'dst', 'pfx', 'r', 'f', 'fi', 'ni', 'eff')
    call = { c[1], c[2], c[3], c[4], c[5], ARGV[3], int(used), int(billed), int(debited),
             int(uncharged_before + uncharged), c[6], c[7], c[8], c[9], c[10], c[11], c[12], ARGV[9] }
  end
  local kind = 0
  if payable > 0 then
    kind = 2
  end
  local sid = redis.call('HGET', session, 'sid')
  local number = redis.call('HGET', session, 'num')
  local draws = apply_draws(lots, order, plan)
  record = settlement(epoch, operation, ARGV[3], kind, -payable, sid, request, number, '', '', nil, draws, call)
  redis.call('HSET', pending, int(operation), record)
end
local answer = encode({ int(code), int(granted), ARGV[6], int(final), int(payable), int(debited), int(hold),
                        int(used), int(billed), int(operation), ARGV[2] })
redis.call('HSET', account, 'balance', int(new_balance), 'held', int(new_held + hold))
redis.call('HSET', session, 'u', int(used), 'd', int(debited), 'h', int(hold),
  'sh', int(uncharged_before + uncharged), 'requests', int(requests + 1),
  'a:' .. request, answer, 'o:' .. request, int(operation))
if terminate then
  redis.call('HSET', session, 'state', 'closed')
  redis.call('EXPIRE', session, ARGV[10])
end
return { 'ok', answer, record }
