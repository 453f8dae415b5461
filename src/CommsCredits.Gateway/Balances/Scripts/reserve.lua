-- CCR-INITIAL: opens a session and holds credit for its first slice.
-- KEYS[1] account hash, KEYS[2] session hash, KEYS[3] lots hash, KEYS[4] lot expiry order
-- ARGV[1] fingerprint, [2] now ms, [3] requested seconds (> 0), [4] validity seconds, [5] max session seconds,
--     [6] rate micros per minute, [7] connection fee micros, [8] first increment s, [9] next increment s,
--     [10] call type, [11] user id, [12] calling number, [13] called number, [14] destination name,
--     [15] rated prefix, [16] rate effective from ms, [17] session id, [18] retention seconds for a denial
-- Reply: {'not_loaded'} | {'replay', answer, session tariff...} | {'ok', answer, session tariff...}
-- An answer is encode{code, granted, validity, final, charged, session charged, reserved, used, billed,
-- operation, fingerprint}.
local account, session, lots, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch = redis.call('HGET', account, 'epoch')
if not epoch then
  return { 'not_loaded' }
end

local function tariff_reply(status, answer)
  local t = redis.call('HMGET', session, 'dst', 'pfx', 'r', 'f', 'fi', 'ni', 'eff')
  return { status, answer, t[1], t[2], t[3], t[4], t[5], t[6], t[7] }
end

local existing = redis.call('HMGET', session, 'ep', 'a:0')
if existing[1] == epoch and existing[2] then
  return tariff_reply('replay', existing[2])
end

local balance = tonumber(redis.call('HGET', account, 'balance'))
local held = tonumber(redis.call('HGET', account, 'held'))
local available = spendable(balance, held, expired_micros(lots, order, ARGV[2]))
local requested = tonumber(ARGV[3])
local rate, fee, first, next_increment = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local total = affordable_total_seconds(0, available, rate, fee, first, next_increment, tonumber(ARGV[5]))
local granted = math.min(requested, total)
local code, hold, final = 2001, 0, 0
if granted <= 0 then
  code, granted = 4012, 0
else
  hold = cost_micros(billed_seconds(granted, first, next_increment), rate, fee)
  if total < requested then
    final = 1
  end
end
ensure(hold >= 0 and hold <= available, 'reserve hold exceeds the available balance')

-- Writes start here.
if existing[1] then
  -- A session of an older epoch: its hold died with that state.
  redis.call('DEL', session)
end
local number = redis.call('HINCRBY', account, 'opseq', 1)
local answer = encode({ int(code), int(granted), ARGV[4], int(final), '0', '0', int(hold), '0', '0', '0', ARGV[1] })
redis.call('HSET', session,
  'ep', epoch, 'num', int(number), 'state', code == 2001 and 'open' or 'denied', 'sid', ARGV[17],
  'ct', ARGV[10], 'user', ARGV[11], 'from', ARGV[12], 'to', ARGV[13],
  'r', ARGV[6], 'f', ARGV[7], 'fi', ARGV[8], 'ni', ARGV[9], 'dst', ARGV[14], 'pfx', ARGV[15], 'eff', ARGV[16],
  't0', ARGV[2], 'u', '0', 'd', '0', 'h', int(hold), 'sh', '0', 'requests', '1', 'a:0', answer)
if code == 2001 then
  redis.call('HSET', account, 'held', int(held + hold))
else
  redis.call('EXPIRE', session, ARGV[18])
end
return tariff_reply('ok', answer)
