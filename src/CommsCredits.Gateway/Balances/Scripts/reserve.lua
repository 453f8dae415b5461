-- CCR-INITIAL: opens a session and holds what its first slice needs: seconds of the included-minute pool that covers
-- the call first, then credit for the rest.
-- KEYS[1] account hash, KEYS[2] session hash, KEYS[3] lots hash, KEYS[4] lot expiry order, KEYS[5] session deadlines
-- ARGV[1] fingerprint, [2] now ms, [3] requested seconds (> 0), [4] validity seconds, [5] max session seconds,
--     [6] rate micros per minute, [7] connection fee micros, [8] first increment s, [9] next increment s,
--     [10] call type, [11] user id, [12] calling number, [13] called number, [14] destination name,
--     [15] rated prefix, [16] rate effective from ms, [17] session id, [18] retention seconds for a denial,
--     [19] pool id or '' when no pool covers the call, [20] pool size seconds, [21] month (YYYYMM, UTC),
--     [22] '1' when the call may draw on credits (the user holds the licence), '0' when only the pool may pay,
--     [23] supervision window ms (validity + grace): an open session not heard from for that long is closed by the
--     supervisor, [24] the most sessions a tenant may have open at once
-- Reply: {'not_loaded'} | {'too_many_sessions'} | {'replay', answer, session tariff..., pending settlement or ''}
--      | {'ok', answer, session tariff..., settlement or ''}
-- An answer is encode{code, granted, validity, final, charged, session charged, reserved, used, billed,
-- operation, fingerprint, granted included seconds, included seconds used}.
-- A granted session's opening is a settlement with no ledger entry: its step for the session journal, so that the
-- session can be restored if Redis is lost (see session_step).
-- Every Redis command costs the single Redis thread a few microseconds, which caps Reserves per second: each hash is
-- read with one command and written with one (docs/scaling.md, "The Reserve script").
local account, session, lots, order, deadlines, pending = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local state = redis.call('HMGET', account, 'epoch', 'balance', 'held', 'opseq')
local epoch = state[1]
if not epoch then
  return { 'not_loaded' }
end

local stored, stored_record, existing_epoch = stored_answer(session, '0', epoch, pending)
if stored then
  local t = redis.call('HMGET', session, 'dst', 'pfx', 'r', 'f', 'fi', 'ni', 'eff')
  return { 'replay', stored, t[1], t[2], t[3], t[4], t[5], t[6], t[7], stored_record }
end

local balance = tonumber(state[2])
local held = tonumber(state[3])
local available = spendable(balance, held, expired_micros(lots, order, ARGV[2]))
local requested = tonumber(ARGV[3])
local rate, fee, first, next_increment = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local max_session = tonumber(ARGV[5])
local pool, pool_size, month, credits_allowed = ARGV[19], tonumber(ARGV[20]), ARGV[21], ARGV[22] == '1'

local pool_used, pool_held, pool_granted = 0, 0, 0
if pool ~= '' then
  pool_used, pool_held = pool_counters(account, pool, month)
  pool_granted = math.min(requested, pool_free(pool_size, pool_used, pool_held))
end
local credit_requested = requested - pool_granted
local credit_granted, hold, final = 0, 0, 0
if credit_requested > 0 then
  if credits_allowed then
    local total = affordable_total_seconds(0, available, rate, fee, first, next_increment, max_session - pool_granted)
    credit_granted = math.min(credit_requested, total)
    if credit_granted > 0 then
      hold = cost_micros(billed_seconds(credit_granted, first, next_increment), rate, fee)
    end
  end
  if credit_granted < credit_requested then
    final = 1
  end
end
local granted = pool_granted + credit_granted
local code = 2001
if granted == 0 then
  code, final = credits_allowed and 4012 or 4010, 0
end
ensure(hold >= 0 and hold <= available, 'reserve hold exceeds the available balance')
if code == 2001 and redis.call('ZCARD', deadlines) >= tonumber(ARGV[24]) then
  return { 'too_many_sessions' }
end

-- Writes start here.
if existing_epoch then
  -- A session of an older epoch: its hold died with that state.
  redis.call('DEL', session)
end
local number = (tonumber(state[4]) or 0) + 1
local answer = encode({ int(code), int(granted), ARGV[4], int(final), '0', '0', int(hold), '0', '0', '0', ARGV[1],
                        int(pool_granted), '0' })
-- The fields a session keeps for its whole life; the opening step carries them to the session journal.
local fixed = { 'sid', ARGV[17], 'ct', ARGV[10], 'user', ARGV[11], 'from', ARGV[12], 'to', ARGV[13],
                'r', ARGV[6], 'f', ARGV[7], 'fi', ARGV[8], 'ni', ARGV[9], 'dst', ARGV[14], 'pfx', ARGV[15], 'eff', ARGV[16],
                't0', ARGV[2], 'pl', pool, 'ps', int(pool_size), 'ca', credits_allowed and '1' or '0' }
local fields = { 'ep', epoch, 'sep', epoch, 'num', int(number), 'state', code == 2001 and 'open' or 'denied',
                 'u', '0', 'd', '0', 'h', int(hold), 'requests', '1', 'a:0', answer, 'pa', int(pool_granted), 'pc', '0',
                 'g', int(granted) }
for i = 1, #fixed do
  fields[#fields + 1] = fixed[i]
end
local record = ''
if code == 2001 then
  local deadline = int(tonumber(ARGV[2]) + tonumber(ARGV[23]))
  fields[#fields + 1], fields[#fields + 2], fields[#fields + 3], fields[#fields + 4] = 'dl', deadline, 'o:0', int(number)
  redis.call('HSET', session, unpack(fields))
  redis.call('ZADD', deadlines, deadline, ARGV[17])
  redis.call('HSET', account, 'opseq', int(number), 'held', int(held + hold))
  if pool_granted > 0 then
    write_pool_counters(account, pool, month, pool_used, pool_held + pool_granted)
  end
  local step = session_step(1, epoch, '0', 0, 0, 0, pool_granted, hold, granted, deadline, answer, encode(fixed))
  record = settlement(epoch, number, ARGV[2], 0, 0, ARGV[17], '0', int(number), '', '', nil, '', nil, '', nil, step)
  redis.call('HSET', pending, int(number), record)
else
  redis.call('HSET', session, unpack(fields))
  redis.call('HSET', account, 'opseq', int(number))
  redis.call('EXPIRE', session, ARGV[18])
end
-- The tariff as the session stores it: just written from these arguments.
return { 'ok', answer, ARGV[14], ARGV[15], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[16], record }
