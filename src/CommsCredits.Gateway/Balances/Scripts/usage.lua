-- CCR-UPDATE and CCR-TERMINATION: debits the seconds used since the previous request, then either reserves the
-- next slice (update) or releases the hold and closes the session (termination).
--
-- Charging is cumulative: the session owes cost(billed(total used on credit)) in all, and each request debits what
-- that total adds to what was already debited. So out-of-sequence updates (RFC 8506 section 5.1) charge the same total
-- in any order, and the rounding to billing increments happens once per call, never per slice.
--
-- Included minutes come first: the session holds an allotment of its pool's seconds ('pa'); the first 'pa' seconds
-- of the call are the pool's, the rest are on credit. While the call has not gone past its allotment, a new slice
-- takes more pool seconds if the pool has any; once it is on credit it stays there.
--
-- Session supervision (RFC 8506 section 5.1, Tcc) uses this script too: with ARGV[16] set, it closes the session as a
-- termination only if the session is still open and its deadline (the last request plus validity and grace) has
-- passed, so of several supervisors, and of a supervisor and a late request, exactly one closes it. The 'release'
-- policy debits nothing more; 'debit' charges the last grant as if it had been used in full.
--
-- KEYS[1] account hash, KEYS[2] session hash, KEYS[3] pending settlements hash, KEYS[4] lots hash, KEYS[5] lot expiry
--     order, KEYS[6] session deadlines (sorted set: session id by deadline ms)
-- ARGV[1] request number, [2] fingerprint, [3] now ms, [4] used seconds, [5] requested seconds (> 0 for an
--     update), [6] validity seconds, [7] max session seconds, [8] '1' to terminate, [9] termination cause,
--     [10] retention seconds after termination, [11] max requests per session, [12] month (YYYYMM, UTC),
--     [13] the tenant's auto-recharge trigger in micros, or '' when auto-recharge is off, [14] its low-balance
--     warning levels in micros joined by ',', or '', [15] supervision window ms (validity + grace), [16] '' for a
--     client's request, or the supervisor's policy 'release' or 'debit', [17] the session id
-- Reply: {'not_loaded'} | {'unknown_session'} | {'closed'} | {'too_many_requests'} | {'too_long'} | {'alive'}
--      | {'replay', answer, pending settlement or ''} | {'ok', answer, settlement, pending opening or ''}
-- Every request that is carried out makes a settlement: its ledger entry when it debits, and always its step for the
-- session journal (an Update's usage, hold and answer; a termination's call record), so that a rebuilt hot state
-- restores the session as the ledger knows it. An Update whose session's opening is still pending (its Reserve was
-- answered while the ledger could not take it) returns the opening too, for the gateway to write first; a termination
-- drops it, since a closed session is never restored.
-- Each hash is read with one command and written with one where the logic allows: every command costs the single
-- Redis thread a few microseconds (docs/scaling.md, "The Reserve script").
local account, session, pending, lots, order, deadlines = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local state = redis.call('HMGET', account, 'epoch', 'balance', 'held', 'opseq')
local epoch = state[1]
if not epoch then
  return { 'not_loaded' }
end

local request = ARGV[1]
local supervision = ARGV[16]
local s = redis.call('HMGET', session, 'ep', 'state', 'dl', 'g')
if supervision ~= '' then
  if s[1] ~= epoch or s[2] ~= 'open' then
    -- Closed by its client or another supervisor, or of a rebuilt state: nothing to supervise any more. A session of
    -- an older state that the rebuild did not restore is dead (its hold went with that state, and the ledger holds
    -- what it was charged), though a state brought back from disk may show it open: it goes.
    redis.call('ZREM', deadlines, ARGV[17])
    if s[1] and s[1] ~= epoch then
      redis.call('DEL', session)
    end
    return { 'closed' }
  end
  if tonumber(s[3] or '0') > tonumber(ARGV[3]) then
    return { 'alive' }
  end
end
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

local v = redis.call('HMGET', session, 'u', 'd', 'h', 'r', 'f', 'fi', 'ni', 'requests', 'pl', 'pa', 'pc', 'ca', 'ps',
                    'sid', 'num', 'sep', 'o:0')
local used_before, debited_before, hold_before = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
local rate, fee, first, next_increment = tonumber(v[4]), tonumber(v[5]), tonumber(v[6]), tonumber(v[7])
local requests = tonumber(v[8])
-- Sessions opened before pools existed have none of the pool fields: no pool, credit allowed.
local pool, allotted, pool_used_before = v[9] or '', tonumber(v[10] or '0'), tonumber(v[11] or '0')
local credits_allowed = v[12] ~= '0'
-- The pool's size as the session found it at Reserve.
local pool_size = tonumber(v[13] or '0')
if requests >= tonumber(ARGV[11]) and supervision == '' then
  return { 'too_many_requests' }
end
local max_session = tonumber(ARGV[7])
local reported = tonumber(ARGV[4])
if supervision == 'debit' then
  -- The last grant, as if used in full; never past the longest call.
  reported = math.max(0, math.min(tonumber(s[4] or '0'), max_session - used_before))
end
local used = used_before + reported
if used > max_session then
  return { 'too_long' }
end
local terminate = ARGV[8] == '1'
local month = ARGV[12]

-- What the call owes: nothing for its pool seconds, the tariff for the rest.
local pool_used = math.min(used, allotted)
local pool_used_now = pool_used - pool_used_before
local credit_seconds = used - pool_used
local credit_billed = 0
local owed = 0
if credit_seconds > 0 then
  credit_billed = billed_seconds(credit_seconds, first, next_increment)
  owed = cost_micros(credit_billed, rate, fee)
end
local charge = owed - debited_before
ensure(charge >= 0 and pool_used_now >= 0, 'session was debited more than its usage costs')

local balance = tonumber(state[2])
local held = tonumber(state[3])
-- The session's own hold is there to pay for this; what the hold does not cover comes from the available balance,
-- and what neither covers (usage past the grant, or credit a user without the licence may not use) is recorded as
-- uncharged, never as a negative balance. Money of expired lots pays for the hold granted before it expired.
local expired = expired_micros(lots, order, ARGV[3])
local payable = 0
if credits_allowed then
  payable = math.min(charge, hold_before + spendable(balance, held, expired))
end
local plan = plan_draws(lots, order, payable)
local uncharged = charge - payable
local new_balance = balance - payable
local new_held = held - hold_before
local debited = debited_before + payable

local pool_month_used, pool_held = 0, 0
if pool ~= '' then
  pool_month_used, pool_held = pool_counters(account, pool, month)
  pool_month_used = pool_month_used + pool_used_now
  -- A rebuild forgets holds, so a call of the old state can release more than is held.
  pool_held = math.max(0, pool_held - pool_used_now)
end

local code, granted, hold, final, pool_granted = 2001, 0, 0, 0, 0
local new_allotted = allotted
if terminate then
  pool_held = math.max(0, pool_held - (allotted - pool_used))
else
  local requested = tonumber(ARGV[5])
  if pool ~= '' and credit_seconds == 0 then
    local extra = math.min(math.max(0, requested - (allotted - used)), pool_free(pool_size, pool_month_used, pool_held))
    new_allotted = allotted + extra
    pool_held = pool_held + extra
    pool_granted = math.min(requested, new_allotted - used)
  end
  local credit_requested = requested - pool_granted
  local credit_granted = 0
  if credit_requested > 0 and credits_allowed then
    -- The debit drew on the earliest lots, so on expired money first.
    local spendable_after = spendable(new_balance, new_held, math.max(0, expired - payable))
    local cap = math.max(0, max_session - new_allotted)
    local total = affordable_total_seconds(debited, spendable_after, rate, fee, first, next_increment, cap)
    credit_granted = math.max(0, math.min(credit_requested, total - credit_seconds))
    if credit_granted > 0 then
      hold = cost_micros(billed_seconds(credit_seconds + credit_granted, first, next_increment), rate, fee) - debited
    end
  end
  if credit_granted < credit_requested then
    final = 1
  end
  granted = pool_granted + credit_granted
  if granted == 0 then
    code, final = credits_allowed and 4012 or 4010, 0
  end
end
ensure(new_balance >= 0, 'balance would go negative')
ensure(hold >= 0 and hold <= new_balance - new_held, 'new hold exceeds the available balance')

-- Writes start here.
local billed = pool_used + credit_billed
local operation = (tonumber(state[4]) or 0) + 1
local answer = encode({ int(code), int(granted), ARGV[6], int(final), int(payable), int(debited), int(hold),
                        int(used), int(billed), int(operation), ARGV[2], int(pool_granted), int(pool_used) })
local deadline = '0'
if not terminate then
  deadline = int(tonumber(ARGV[3]) + tonumber(ARGV[15]))
end
local call = nil
if terminate then
  local c = redis.call('HMGET', session, 'user', 'ct', 'from', 'to', 't0', 'dst', 'pfx', 'r', 'f', 'fi', 'ni', 'eff')
  call = { c[1], c[2], c[3], c[4], c[5], ARGV[3], int(used), int(billed), int(debited), int(uncharged),
           c[6], c[7], c[8], c[9], c[10], c[11], c[12], ARGV[9], int(pool_used), pool_used > 0 and pool or '' }
end
local kind = 0
if payable > 0 then
  kind = 2
end
local pool_record = nil
if pool_used_now > 0 then
  pool_record = { pool, pool_used_now, month }
end
-- Sessions opened before the session journal have no 'sep': they were opened in the epoch they are still in.
local session_id, session_number, session_epoch = v[14], v[15], v[16] or epoch
local draws = apply_draws(lots, order, plan)
-- The supervisor's closing is no request of the network element's: its ledger entry has no request number.
local ledger_request = supervision == '' and request or ''
local step = session_step(terminate and 3 or 2, session_epoch, request, reported, payable, pool_used_now, new_allotted,
                          hold, granted, deadline, answer, '')
local record = settlement(epoch, operation, ARGV[3], kind, -payable, session_id, ledger_request, session_number, '', '', nil,
                          draws, pool_record, debit_events(balance, new_balance, ARGV[13], ARGV[14]), call, step)
redis.call('HSET', pending, int(operation), record)
redis.call('HSET', account, 'balance', int(new_balance), 'held', int(new_held + hold), 'opseq', int(operation))
if pool ~= '' then
  write_pool_counters(account, pool, month, pool_month_used, pool_held)
end
local written = { 'u', int(used), 'd', int(debited), 'h', int(hold), 'requests', int(requests + 1), 'pa', int(new_allotted),
                  'pc', int(pool_used), 'a:' .. request, answer, 'o:' .. request, int(operation) }
if terminate then
  written[#written + 1], written[#written + 2] = 'state', 'closed'
  redis.call('HSET', session, unpack(written))
  redis.call('EXPIRE', session, ARGV[10])
  redis.call('ZREM', deadlines, ARGV[17])
else
  written[#written + 1], written[#written + 2], written[#written + 3], written[#written + 4] = 'g', int(granted), 'dl', deadline
  redis.call('HSET', session, unpack(written))
  redis.call('ZADD', deadlines, deadline, ARGV[17])
end
local opening = ''
-- Read with the session's counters: no request of this script writes 'o:0' (request numbers of an Update are 1 or
-- more, the supervisor's is 'supervisor').
local opening_operation = v[17]
if opening_operation and opening_operation ~= '0' then
  if terminate then
    redis.call('HDEL', pending, opening_operation)
  else
    opening = redis.call('HGET', pending, opening_operation) or ''
  end
end
return { 'ok', answer, record, opening }
