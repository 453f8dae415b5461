-- tariff.lua: the charging arithmetic of CommsCredits, the exact twin of
-- src/CommsCredits.Gateway/Rating/TariffMath.cs (docs/rating.md states the rules).
--
-- This chunk is prepended to the balance scripts: it defines local functions only and
-- returns nothing. Redis Lua numbers are doubles, exact for integers below 2^53; every
-- argument is checked against the limits of MoneyLimits.cs, which keep every intermediate
-- value below 2^53 (the bound of each one is noted next to it). Call these functions before
-- the script writes anything: an argument error aborts the script, and Redis does not undo
-- writes already made.
--
-- Money is integer micro-units, time is integer seconds. Never pass a result through
-- tostring() or '..': Lua 5.1 writes numbers above 10^14 in exponent form ("1e+15").
-- Return them as integer replies, or format them with string.format('%d', n).

local tariff_limits = {
  max_balance_micros = 1000000000000000,   -- MoneyLimits.MaxBalanceMicros, 10^15
  max_rate_per_minute_micros = 1000000000, -- MoneyLimits.MaxRatePerMinuteMicros
  max_connection_fee_micros = 1000000000,  -- MoneyLimits.MaxConnectionFeeMicros
  max_increment_seconds = 3600,            -- MoneyLimits.MaxIncrementSeconds
  max_session_seconds = 604800,            -- MoneyLimits.MaxSessionSeconds, 7 days
  max_billed_seconds = 608400,             -- MoneyLimits.MaxBilledSeconds
}

-- Raises an error unless value is an integer from minimum to maximum (NaN fails every test).
local function tariff_require(name, value, minimum, maximum)
  if type(value) ~= 'number' or value ~= math.floor(value) or value < minimum or value > maximum then
    error(string.format('tariff.lua: %s must be an integer from %d to %d, got %s',
      name, minimum, maximum, tostring(value)), 0)
  end
end

-- floor(a / b) and a - b * floor(a / b) for integers 0 <= a < 2^53 and 1 <= b < 2^53.
-- The double quotient a / b is rounded, so its floor is corrected by the remainder's sign;
-- q * b stays within b of a, so below 2^53, and the correction is exact.
local function tariff_divide(a, b)
  local quotient = math.floor(a / b)
  local remainder = a - quotient * b
  if remainder < 0 then
    quotient = quotient - 1
    remainder = remainder + b
  elseif remainder >= b then
    quotient = quotient + 1
    remainder = remainder - b
  end
  return quotient, remainder
end

-- ceil(a / b) for integers 0 <= a < 2^53 and 1 <= b < 2^53.
local function tariff_ceiling_divide(a, b)
  local quotient, remainder = tariff_divide(a, b)
  if remainder > 0 then
    return quotient + 1
  end
  return quotient
end

-- Used seconds rounded up to the increment grid {0, first, first + next, ...}:
-- 0 when used is 0, else first + ceil(max(0, used - first) / next) * next.
-- used: 0..604800; first, next: 1..3600. Result <= used + 3599 (< 2^20).
local function billed_seconds(used, first, next_increment)
  tariff_require('used', used, 0, tariff_limits.max_session_seconds)
  tariff_require('first', first, 1, tariff_limits.max_increment_seconds)
  tariff_require('next', next_increment, 1, tariff_limits.max_increment_seconds)
  if used == 0 then
    return 0
  end
  if used <= first then
    return first
  end
  return first + tariff_ceiling_divide(used - first, next_increment) * next_increment
end

-- Cumulative cost of a call billed for billed seconds: 0 when billed is 0, else
-- fee + ceil(billed * rate / 60) micros, rounded up once on the whole call.
-- billed: 0..608400; rate, fee: 0..10^9.
-- billed * rate <= 6.084e14 < 2^53; the result <= 1.0141e13.
local function cost_micros(billed, rate, fee)
  tariff_require('billed', billed, 0, tariff_limits.max_billed_seconds)
  tariff_require('rate', rate, 0, tariff_limits.max_rate_per_minute_micros)
  tariff_require('fee', fee, 0, tariff_limits.max_connection_fee_micros)
  if billed == 0 then
    return 0
  end
  return fee + tariff_ceiling_divide(billed * rate, 60)
end

-- The largest T <= cap, on the grid or not, with fee + ceil(T * rate / 60) <= budget.
-- With X = budget - fee (an integer), that is T = floor(60 * X / rate). 60 * X may reach
-- 1.2e17 > 2^53, so it is computed as 60 * q + floor(60 * r / rate) with X = q * rate + r;
-- when q >= cap the answer is cap, so 60 * q < 60 * 604800 and 60 * r < 6e10.
local function tariff_affordable_ceiling(budget, rate, fee, cap)
  if budget < fee then
    return 0
  end
  if rate == 0 then
    return cap
  end
  local quotient, remainder = tariff_divide(budget - fee, rate)
  if quotient >= cap then
    return cap
  end
  local extra = tariff_divide(60 * remainder, rate)
  return math.min(cap, 60 * quotient + extra)
end

-- The largest total billed seconds T in {0, first, first + next, ...} with T <= cap and
-- cost_micros(T, rate, fee) - debited <= money. 0 when not even the first increment fits.
-- debited, money: 0..10^15 micros (so debited + money <= 2e15 < 2^53); rate, fee: 0..10^9;
-- first, next: 1..3600; cap: 0..604800 seconds.
local function affordable_total_seconds(debited, money, rate, fee, first, next_increment, cap)
  tariff_require('debited', debited, 0, tariff_limits.max_balance_micros)
  tariff_require('money', money, 0, tariff_limits.max_balance_micros)
  tariff_require('rate', rate, 0, tariff_limits.max_rate_per_minute_micros)
  tariff_require('fee', fee, 0, tariff_limits.max_connection_fee_micros)
  tariff_require('first', first, 1, tariff_limits.max_increment_seconds)
  tariff_require('next', next_increment, 1, tariff_limits.max_increment_seconds)
  tariff_require('cap', cap, 0, tariff_limits.max_session_seconds)
  local ceiling = tariff_affordable_ceiling(debited + money, rate, fee, cap)
  if ceiling < first then
    return 0
  end
  local steps = tariff_divide(ceiling - first, next_increment)
  return first + steps * next_increment
end
