-- Drops a tenant's hot state if it is still at the given epoch, so that the next request rebuilds it from the
-- ledger. Used when the ledger refused a settlement because its epoch is not the ledger's.
-- KEYS[1] account hash; ARGV[1] epoch
-- Reply: {'dropped'} or {'kept'}
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { 'dropped' }
end
return { 'kept' }
