// Lua scripts for cleaning decisions: each state change of a decision, together with its
// decided-flag, the kept list and the audit entry, happens atomically inside Redis.
//
// A decision is a hash: data (the immutable decision as JSON), state (pending -> applied ->
// undoing -> undone), claimedAt, undo (who undid it, as JSON). All keys of one dataset share
// its {guild:name} hash tag, so a Redis Cluster keeps them in one slot; the decision a
// decided-flag points at is read by name inside CLAIM, which is safe for that reason.
import { script } from '../store/lua.js';

// KEYS: decided flag, new decision. ARGV: decision id, data JSON, now ms, stale ms, ttl s,
// decision key prefix (the existing decision is <prefix><id>).
// Returns {'claimed'} | {'decided', data, state, undo}.
export const CLAIM = script(`
local existing = redis.call('GET', KEYS[1])
if existing then
  local key = ARGV[6] .. existing
  local state = redis.call('HGET', key, 'state')
  if state then
    local claimedAt = tonumber(redis.call('HGET', key, 'claimedAt') or '0')
    local abandoned = state == 'pending' and tonumber(ARGV[3]) - claimedAt > tonumber(ARGV[4])
    if not abandoned then
      return {'decided', redis.call('HGET', key, 'data'), state, redis.call('HGET', key, 'undo') or ''}
    end
    redis.call('DEL', key)
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
redis.call('HSET', KEYS[2], 'data', ARGV[2], 'state', 'pending', 'claimedAt', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {'claimed'}
`);

// KEYS: decision, kept, audit. ARGV: item id, kept mode ('remember' | 'forget' | 'leave'),
// kept label, audit max length, then audit field/value pairs. pending -> applied.
// Returns 1, or 0 when the decision is not pending (it was taken over).
export const FINISH_DECIDE = script(`
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'applied')
if ARGV[2] == 'remember' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
elseif ARGV[2] == 'forget' then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
return 1
`);

// KEYS: decided flag, decision. ARGV: decision id. Drops a pending claim that could not be applied.
export const ABORT_DECIDE = script(`
if redis.call('HGET', KEYS[2], 'state') ~= 'pending' then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2])
return 1
`);

// KEYS: decision. ARGV: now ms, stale ms, undo JSON. applied (or an abandoned undoing) -> undoing.
// Returns {'ok', data} | {'state', state, data, undo} | {'missing'}.
export const CLAIM_UNDO = script(`
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
local undoAt = tonumber(redis.call('HGET', KEYS[1], 'undoAt') or '0')
local abandoned = state == 'undoing' and tonumber(ARGV[1]) - undoAt > tonumber(ARGV[2])
if state ~= 'applied' and not abandoned then
  return {'state', state, redis.call('HGET', KEYS[1], 'data'), redis.call('HGET', KEYS[1], 'undo') or ''}
end
redis.call('HSET', KEYS[1], 'state', 'undoing', 'undo', ARGV[3], 'undoAt', ARGV[1])
return {'ok', redis.call('HGET', KEYS[1], 'data')}
`);

// KEYS: decision, decided flag, kept, audit. ARGV: decision id, item id, kept label to forget
// ('' = none), audit max length, then audit field/value pairs. undoing -> undone, and the item
// may be decided again.
export const FINISH_UNDO = script(`
if redis.call('HGET', KEYS[1], 'state') ~= 'undoing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'undone')
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[2]) end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
return 1
`);

// KEYS: decision. undoing -> applied (the store refused the reverse change).
export const ABORT_UNDO = script(`
if redis.call('HGET', KEYS[1], 'state') ~= 'undoing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'applied')
redis.call('HDEL', KEYS[1], 'undo', 'undoAt')
return 1
`);
