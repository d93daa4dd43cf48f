-- The glue between a script and the server, run once per Lua VM with the
-- full standard library in reach. It receives the Rust callbacks in `rs`
-- and returns the table the Rust side drives the VM through. Scripts run
-- with a read-only proxy of the globals as their environment, so they can
-- neither create globals nor change the `redis`/library tables.
local rs = ...
local dbg = debug
local G = _G
local rawset_, rawget_, setmetatable_, getmetatable_ = rawset, rawget, setmetatable, getmetatable
local error_, type_, tostring_, pcall_, xpcall_, select_, unpack_ = error, type, tostring, pcall, xpcall, select, unpack
local setfenv_, loadstring_, load_, next_ = setfenv, loadstring, load, next
local sub, find, byte = string.sub, string.find, string.byte

local protected = setmetatable_({}, { __mode = 'k' })
-- proxy -> the table it shows, so pairs/next can see through it.
local shows = setmetatable_({}, { __mode = 'k' })

local function ro_error(_, _, _, level)
  error_('Attempt to modify a readonly table', level or 2)
end

-- Errors raised by Rust callbacks are userdata; those of redis.call carry
-- the error reply behind a \1 marker.
local function from_rust(err)
  if type_(err) == 'userdata' then
    local s = tostring_(err)
    local cut = find(s, '\nstack traceback:', 1, true)
    if cut then
      s = sub(s, 1, cut - 1)
    end
    if byte(s, 1) == 1 then
      return { err = sub(s, 2), ignore_error_stats_update = true }
    end
    return s
  end
  return err
end

-- A read-only view of `real`: reads go through, writes fail. The metatable
-- a script can reach through getmetatable is itself read-only.
local function readonly(real)
  local p = {}
  local mt = { __index = real, __newindex = ro_error }
  local shown = setmetatable_({}, { __index = mt, __newindex = ro_error, __metatable = false })
  protected[shown] = true
  mt.__metatable = shown
  setmetatable_(p, mt)
  protected[p] = true
  shows[p] = real
  return p, mt
end

local function internal(n)
  local s = sub(n, 1, 1)
  return s == '=' and n == '=redis'
end

-- The error handler Redis installs: errors become {err=..., source=...,
-- line=...} tables naming the script line that raised them.
local function err_handler(err)
  err = from_rust(err)
  local lvl = 2
  local i = dbg.getinfo(lvl, 'nSl')
  while i and (i.what == 'C' or internal(i.source)) do
    lvl = lvl + 1
    i = dbg.getinfo(lvl, 'nSl')
  end
  if type_(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring_(err) }
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

-- error_reply's and luaPushError's format: `CODE message`.
local function err_table(s)
  if sub(s, 1, 1) == '-' then
    s = sub(s, 2)
  end
  s = string.gsub(s, '[\r\n]+$', '')
  if s == '' then
    return { err = 'ERR' }
  end
  if not find(s, ' ', 1, true) then
    s = 'ERR ' .. s
  end
  return { err = s }
end

local env = {}
local redis = {}
redis.call = rs.call
redis.pcall = rs.pcall
redis.error_reply = function(...)
  local s = ...
  if select_('#', ...) ~= 1 or type_(s) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  return err_table(s)
end
redis.status_reply = function(...)
  local s = ...
  if select_('#', ...) ~= 1 or type_(s) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  return { ok = s }
end
redis.sha1hex = function(...)
  if select_('#', ...) ~= 1 then
    error_('wrong number of arguments', 2)
  end
  -- Like lua_tolstring: only strings and numbers convert; anything else
  -- (nil, booleans, tables) hashes as the empty string, as in Redis.
  local v = ...
  local t = type_(v)
  if t ~= 'string' and t ~= 'number' then
    v = ''
  end
  return rs.sha1hex(tostring_(v))
end
redis.log = function(...)
  local n = select_('#', ...)
  if n < 2 then
    error_('redis.log() requires two arguments or more.', 2)
  end
  local level = ...
  if type_(level) ~= 'number' then
    error_('First argument must be a number (log level).', 2)
  end
  if level < 0 or level > 3 then
    error_('Invalid log level.', 2)
  end
  local parts = {}
  for k = 2, n do
    local v = select_(k, ...)
    parts[#parts + 1] = tostring_(v)
  end
  rs.log(level, table.concat(parts, ' '))
end
redis.setresp = function(...)
  if select_('#', ...) ~= 1 then
    error_('redis.setresp() requires one argument.', 2)
  end
  local v = ...
  if v ~= 2 and v ~= 3 then
    error_('RESP version must be 2 or 3.', 2)
  end
  rs.setresp(v)
end
redis.set_repl = function(...)
  if select_('#', ...) ~= 1 then
    error_('redis.set_repl() requires one argument.', 2)
  end
  local v = ...
  if type_(v) ~= 'number' or v < 0 or v > 3 then
    error_('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.', 2)
  end
  rs.set_repl(v)
end
redis.replicate_commands = function()
  return true
end
redis.breakpoint = rs.breakpoint
redis.debug = rs.debug
redis.acl_check_cmd = function(...)
  local r, e = rs.acl_check_cmd(...)
  if e then
    error_(r, 0)
  end
  return r
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION = rs.version
redis.REDIS_VERSION_NUM = rs.version_num

-- Functions: register_function collects into `pending` during FUNCTION
-- LOAD only.
local pending = nil
local function check_flags(flags)
  local out = {}
  for _, f in ipairs(flags) do
    if f ~= 'no-writes' and f ~= 'allow-oom' and f ~= 'allow-stale' and f ~= 'no-cluster'
        and f ~= 'allow-cross-slot-keys' then
      error_('unknown flag given', 3)
    end
    out[#out + 1] = f
  end
  return out
end
local register_function = function(...)
  if pending == nil then
    error_('redis.register_function can only be called on FUNCTION LOAD command', 2)
  end
  local n = select_('#', ...)
  local name, cb, desc, flags
  if n == 1 then
    local t = ...
    if type_(t) ~= 'table' then
      error_('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).', 2)
    end
    for k, v in pairs(t) do
      if type_(k) ~= 'string' then
        error_('named argument key given to redis.register_function is not a string', 2)
      end
      if k == 'function_name' then
        if type_(v) ~= 'string' then
          error_('function_name argument given to redis.register_function must be a string', 2)
        end
        name = v
      elseif k == 'description' then
        if type_(v) ~= 'string' then
          error_('description argument given to redis.register_function must be a string', 2)
        end
        desc = v
      elseif k == 'callback' then
        if type_(v) ~= 'function' then
          error_('callback argument given to redis.register_function must be a function', 2)
        end
        cb = v
      elseif k == 'flags' then
        if type_(v) ~= 'table' then
          error_('flags argument to redis.register_function must be a table representing function flags', 2)
        end
        flags = check_flags(v)
      else
        error_('unknown argument given to redis.register_function', 2)
      end
    end
    if name == nil then
      error_('redis.register_function must get a function name argument', 2)
    end
    if cb == nil then
      error_('redis.register_function must get a callback argument', 2)
    end
  elseif n == 2 then
    name, cb = ...
    if type_(name) ~= 'string' then
      error_('first argument to redis.register_function must be a string', 2)
    end
    if type_(cb) ~= 'function' then
      error_('second argument to redis.register_function must be a function', 2)
    end
  else
    error_('wrong number of arguments to redis.register_function', 2)
  end
  local e = rs.check_function_name(name, pending.names)
  if e then
    error_(e, 2)
  end
  pending.names[name] = true
  pending.list[#pending.list + 1] = { name, cb, desc or false, flags or {} }
end

-- The globals a script sees.
local real = {}
for _, k in ipairs({ 'xpcall', 'tostring', 'next', 'assert', 'tonumber', 'rawequal',
  'collectgarbage', 'getmetatable', 'type', 'select', 'unpack', 'gcinfo', 'pairs', 'rawget',
  'ipairs', '_VERSION', 'error' }) do
  real[k] = G[k]
end
real.coroutine = readonly(coroutine)
real.setmetatable = function(t, mt)
  if protected[t] then
    ro_error(nil, nil, nil, 3)
  end
  return setmetatable_(t, mt)
end
real.rawset = function(t, k, v)
  if protected[t] then
    ro_error(nil, nil, nil, 3)
  end
  return rawset_(t, k, v)
end
real.pcall = function(f, ...)
  local r = { pcall_(f, ...) }
  if not r[1] then
    local e = from_rust(r[2])
    if type_(e) == 'table' and type_(rawget_(e, 'err')) == 'string' then
      return false, e.err
    end
    return false, e
  end
  return unpack_(r, 1, table.maxn(r))
end
-- Lua 5.1's unpack overflows on huge ranges; refuse them as Redis's
-- patched one does.
real.unpack = function(...)
  local t, i, e = ...
  local a, b = tonumber(i or 1), tonumber(e or (type_(t) == 'table' and #t or 0))
  if a and b then
    a, b = math.floor(a), math.floor(b)
    if a > b then
      return
    end
    if b - a >= 7999 then
      error_('too many results to unpack', 0)
    end
  end
  return unpack_(...)
end
real.next = function(t, k)
  return next_(shows[t] or t, k)
end
real.pairs = function(t)
  local r = shows[t]
  if r then
    return next_, r, nil
  end
  return pairs(t)
end
local function no_bytecode(s)
  return type_(s) == 'string' and byte(s, 1) == 27
end
real.loadstring = function(s, name)
  if no_bytecode(s) then
    return nil, 'binary chunks are not allowed'
  end
  local f, e = loadstring_(s, name)
  if f then
    setfenv_(f, env)
  end
  return f, e
end
real.load = function(fn, name)
  if type_(fn) == 'string' then
    return real.loadstring(fn, name)
  end
  local parts = {}
  while true do
    local p = fn()
    if p == nil or p == '' then
      break
    end
    parts[#parts + 1] = p
  end
  return real.loadstring(table.concat(parts), name)
end
local str = {}
for k, v in pairs(string) do
  str[k] = v
end
real.string = readonly(str)
real.table = readonly(table)
local m = {}
for k, v in pairs(math) do
  m[k] = v
end
m.random = rs.random
m.randomseed = rs.randomseed
real.math = readonly(m)
real.os = readonly({ clock = os.clock })
real.redis = readonly(redis)
for k, v in pairs(rs.libs) do
  real[k] = readonly(v)
end
real.__redis__err__handler = err_handler
local gproxy, gmt = readonly(real)
real._G = gproxy
local deprecated = {
  setfenv = function(f, t)
    if protected[t] == nil and type_(f) ~= 'function' then
      return setfenv_(f, t)
    end
    return setfenv_(f, t)
  end,
  getfenv = getfenv,
  newproxy = newproxy,
}
setmetatable_(real, {
  __index = function(_, k)
    error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 0)
  end,
})
env = real._G
-- The string metatable must not be a way around the protection.
getmetatable_('').__metatable = readonly({ __index = real.string })

local api = {}
-- Makes `f` see the script globals.
api.sandbox = function(f)
  setfenv_(f, env)
  return f
end
-- For the Rust side, which sets KEYS and ARGV with raw sets and calls
-- scripts under the error handler itself.
api.globals = real
api.err_handler = err_handler
api.enable_deprecated = function(on)
  for k, v in pairs(deprecated) do
    rawset_(real, k, on and v or nil)
  end
end
-- FUNCTION LOAD runs the library code against a reduced API.
local function strict(t)
  return setmetatable_(t, {
    __index = function(_, k)
      error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 0)
    end,
  })
end
local load_redis = strict({
  register_function = register_function,
  log = redis.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = redis.REDIS_VERSION,
  REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
})
local load_env = strict({ redis = readonly(load_redis) })
api.begin_load = function()
  pending = { names = {}, list = {} }
  gmt.__index = load_env
end
api.end_load = function()
  gmt.__index = real
  local p = pending
  pending = nil
  return p and p.list or {}
end
api.run_load = function(f)
  local ok, e = xpcall_(f, err_handler)
  if ok then
    return true
  end
  if type_(e) == 'table' then
    return false, e.err
  end
  return false, tostring_(e)
end
return api
