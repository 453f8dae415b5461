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
-- Field order is the contract with SettlementCodec.Decode.
local function settlement(epoch, operation, occurred_ms, kind, amount, session_id, request_number, session_number,
                          reference, note, call)
  local fields = { epoch, int(operation), occurred_ms, int(kind), int(amount), session_id, request_number,
                   session_number, reference, note }
  if call then
    fields[#fields + 1] = '1'
    for i = 1, #call do
      fields[#fields + 1] = call[i]
    end
  else
    fields[#fields + 1] = '0'
  end
  return encode(fields)
end

-- Stops the script before its first write when a money invariant would break. An error reply from a script that
-- has not written anything leaves Redis untouched.
local function ensure(condition, message)
  if not condition then
    error({ err = 'INVARIANT ' .. message })
  end
end

-- The answer a request key (a session and request number) already has, and its settlement if that is still
-- pending: a retry is answered with them. Returns nil when the key has no answer under the current epoch.
local function stored_answer(key, request, epoch, pending)
  local stored = redis.call('HMGET', key, 'ep', 'a:' .. request, 'o:' .. request)
  if stored[1] ~= epoch or not stored[2] then
    return nil
  end
  local record = ''
  if stored[3] and stored[3] ~= '0' then
    record = redis.call('HGET', pending, stored[3]) or ''
  end
  return stored[2], record
end
