-- Helpers shared by every CommsCredits script (prepended after tariff.lua).
--
-- Redis Lua numbers are doubles. Every integer these scripts handle stays below 2^53 (docs/rating.md gives the
-- bound), and is turned into text with int() before it reaches redis.call or a reply: Redis would otherwise print
-- it with 14 significant digits and silently round large amounts.

local function int(x)
  return string.format('%d', x)
end

-- Encodes a list of strings as "length:text," items, so any text (a session id, a destination name with commas)
-- survives the trip to C# unchanged. SettlementCodec and HotReply decode it.
local function encode(fields)
  local parts = {}
  for i = 1, #fields do
    local text = fields[i]
    parts[i] = string.format('%d', #text) .. ':' .. text
  end
  return table.concat(parts, ',')
end

-- A settlement: what must reach the ledger, and the call detail record when a call ends.
-- lot is nil or { expires ms, source } for an entry that creates a funding lot; draws is '' or what the entry took
-- from lots, "lot:micros;lot:micros" (see apply_draws); pool is nil or { pool id, seconds, month } for included
-- minutes used; events is '' or what else the entry causes, "name" or "name=value" joined by ';' (see
-- SettlementEvents). step is nil, or a session step for the session journal (see session_step). Field order is the
-- contract with SettlementCodec.Decode.
local function settlement(epoch, operation, occurred_ms, kind, amount, session_id, request_number, session_number,
                          reference, note, lot, draws, pool, events, call, step)
  local fields = { epoch, int(operation), occurred_ms, int(kind), int(amount), session_id, request_number,
                   session_number, reference, note, '', '', draws, '', '', '', events }
  if lot then
    fields[11], fields[12] = lot[1], lot[2]
  end
  if pool then
    fields[14], fields[15], fields[16] = pool[1], int(pool[2]), pool[3]
  end
  if call then
    fields[#fields + 1] = '1'
    for i = 1, #call do
      fields[#fields + 1] = call[i]
    end
  else
    fields[#fields + 1] = '0'
  end
  if step then
    for i = 1, #step do
      fields[#fields + 1] = step[i]
    end
  end
  return encode(fields)
end

-- A step of a session for the session journal (session_steps), written with its settlement so that a rebuild of the
-- hot state can restore the session: kind 1 the opening (Reserve), 2 an Update, 3 the closing (whose call record ends
-- the session's journal). The values after it are the step's own (seconds used, micros charged, pool seconds used)
-- and the session's after it (pool seconds allotted, hold, last grant, deadline ms), the answer given, and for the
-- opening the session's fixed fields (encoded, see opening_fields).
local function session_step(kind, session_epoch, request, used, charged, pool_used, allotted, hold, granted, deadline_ms,
                            answer, opening)
  return { int(kind), session_epoch, request, int(used), int(charged), int(pool_used), int(allotted), int(hold),
           int(granted), deadline_ms, answer, opening }
end

-- Stops the script before its first write when a money invariant would break. An error reply from a script that
-- has not written anything leaves Redis untouched.
local function ensure(condition, message)
  if not condition then
    error({ err = 'INVARIANT ' .. message })
  end
end

-- The identity of the Redis dataset this script runs in (RedisHotStore.Incarnation.cs): the process's run id (it changes
-- with every start) and its replication id (it changes when a replica is promoted), so a dataset that came back from
-- disk, or from a replica that may lack the last writes, always has a new one.
local function dataset_identity()
  local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  local replication_id = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
  ensure(run_id and replication_id, 'INFO reports no run_id or master_replid')
  return run_id .. ':' .. replication_id
end

-- The answer a request key (a session and request number) already has, and its settlement if that is still
-- pending: a retry is answered with them. Returns nil when the key has no answer under the current epoch, and then
-- as its third value the epoch the key was written under (false when the key does not exist), read in the same
-- command.
local function stored_answer(key, request, epoch, pending)
  local stored = redis.call('HMGET', key, 'ep', 'a:' .. request, 'o:' .. request)
  if stored[1] ~= epoch or not stored[2] then
    return nil, nil, stored[1]
  end
  local record = ''
  if stored[3] and stored[3] ~= '0' then
    record = redis.call('HGET', pending, stored[3]) or ''
  end
  return stored[2], record
end

-- Funding lots. KEYS of the lots hash (lot id -> remaining micros) and the expiry order (sorted set: lot id by expiry
-- ms). A lot id is "epoch.operation" of the ledger entry that created it. The remaining amounts always add up to the
-- balance; credit.lua bounds how many lots there are, which bounds every loop below.

-- The money left in lots that have expired by now_ms and not yet been forfeited.
local function expired_micros(lots, order, now_ms)
  local ids = redis.call('ZRANGEBYSCORE', order, '-inf', now_ms)
  if #ids == 0 then
    return 0
  end
  local values = redis.call('HMGET', lots, unpack(ids))
  local total = 0
  for i = 1, #values do
    total = total + tonumber(values[i])
  end
  return total
end

-- What new grants may draw on: the available balance, less expired money that no hold covers. Expired money still
-- pays for holds granted before it expired (they are honoured), and for nothing else.
local function spendable(balance, held, expired)
  return math.max(0, math.min(balance - held, balance - expired))
end

-- Plans taking amount micros from the lots, earliest expiry first, without writing: a list of { id, taken, left }.
local function plan_draws(lots, order, amount)
  local plan = {}
  local owed = amount
  local start = 0
  while owed > 0 do
    local ids = redis.call('ZRANGE', order, start, start + 15)
    if #ids == 0 then
      break
    end
    local values = redis.call('HMGET', lots, unpack(ids))
    for i = 1, #ids do
      local remaining = tonumber(values[i])
      ensure(remaining and remaining > 0, 'lot ' .. ids[i] .. ' is ordered but holds nothing')
      local taken = math.min(owed, remaining)
      plan[#plan + 1] = { ids[i], taken, remaining - taken }
      owed = owed - taken
      if owed == 0 then
        break
      end
    end
    start = start + 16
  end
  ensure(owed == 0, 'the lots do not cover a debit that the balance covers')
  return plan
end

-- Applies a plan from plan_draws; a lot left empty is removed. Returns the draws for the settlement.
local function apply_draws(lots, order, plan)
  local parts = {}
  for i = 1, #plan do
    local id, taken, left = plan[i][1], plan[i][2], plan[i][3]
    if left == 0 then
      redis.call('HDEL', lots, id)
      redis.call('ZREM', order, id)
    else
      redis.call('HSET', lots, id, int(left))
    end
    parts[i] = id .. ':' .. int(taken)
  end
  return table.concat(parts, ';')
end

-- Included-minute pools. A pool's counters live in the account hash: 'pm:<pool>' the month they count (YYYYMM, UTC),
-- 'pu:<pool>' seconds used in that month, 'ph:<pool>' seconds held by calls in progress. In a new month the used
-- seconds start again from zero; held seconds belong to calls, whatever the month.
local function pool_counters(account, pool, month)
  local v = redis.call('HMGET', account, 'pm:' .. pool, 'pu:' .. pool, 'ph:' .. pool)
  local used = 0
  if v[1] == month then
    used = tonumber(v[2]) or 0
  end
  return used, tonumber(v[3]) or 0
end

-- Seconds of a pool of size_seconds that no call has used or holds (a pool can shrink below its use).
local function pool_free(size_seconds, used, held)
  return math.max(0, size_seconds - used - held)
end

local function write_pool_counters(account, pool, month, used, held)
  redis.call('HSET', account, 'pm:' .. pool, month, 'pu:' .. pool, int(used), 'ph:' .. pool, int(held))
end

-- What a debit from balance_before to balance_after causes besides itself: a recharge when it crosses the tenant's
-- auto-recharge trigger (trigger is '' when auto-recharge is off), a warning for each low-balance level it crosses
-- (levels: micros joined by ',', or ''), a notification when it reaches zero.
local function debit_events(balance_before, balance_after, trigger, levels)
  local events = {}
  if trigger ~= '' and balance_before >= tonumber(trigger) and balance_after < tonumber(trigger) then
    events[#events + 1] = 'recharge_due'
  end
  for level in string.gmatch(levels, '[^,]+') do
    if balance_before >= tonumber(level) and balance_after < tonumber(level) then
      events[#events + 1] = 'low_balance=' .. level .. '/' .. int(balance_after)
    end
  end
  if balance_before > 0 and balance_after == 0 then
    events[#events + 1] = 'balance_reached_zero'
  end
  return table.concat(events, ';')
end
