-- Shared by the headless Neovim scripts that tests/editors/test_nvim_ui.py runs: keys go
-- in with nvim_input() and the script runs as a coroutine that yields to the main loop
-- whenever it waits (vim.wait() would not let typed keys through).
--   local h = dofile(vim.env.CODELLAMA_NVIM_HARNESS)
--   h.run(function() ... end)   -- logs PASS or FAIL to $CODELLAMA_NVIM_LOG and exits
local api = vim.api
local H = {}

H.LOG = assert(vim.env.CODELLAMA_NVIM_LOG, 'CODELLAMA_NVIM_LOG not set')
H.SLOW = 30000 -- a loaded 2-core machine is slow to start Python
H.QUICK = 10000

local started = vim.uv.hrtime()
function H.log(fmt, ...)
  local line = select('#', ...) > 0 and fmt:format(...) or fmt
  line = ('%6.2fs %s'):format((vim.uv.hrtime() - started) / 1e9, line)
  vim.fn.writefile(vim.split(line, '\n'), H.LOG, 'a')
end

local function now()
  return vim.uv.hrtime() / 1e6
end

function H.sleep(ms)
  local co = coroutine.running()
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      H.log('coroutine died: %s', err)
      vim.cmd('cquit 3')
    end
  end, ms)
  coroutine.yield()
end

function H.wait_for(what, timeout, fn)
  local deadline = now() + timeout
  while true do
    local value = fn()
    if value then
      return value
    end
    if now() > deadline then
      error(('timed out after %d ms waiting for %s'):format(timeout, what), 2)
    end
    H.sleep(20)
  end
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what, vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.truthy(value, what)
  if not value then
    error(what, 2)
  end
  return value
end

local typed = 0
--- Type keys (<> notation) and wait until Neovim has handled them.
function H.type_keys(keys)
  typed = typed + 1
  local mark = typed
  api.nvim_input(keys .. ('<Cmd>lua _G.codellama_typed = %d<CR>'):format(mark))
  H.wait_for('keys ' .. keys .. ' to be handled', H.QUICK, function()
    return _G.codellama_typed == mark
  end)
end

--- Every vim.notify message, in order.
H.notices = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  H.notices[#H.notices + 1] = { msg = msg, level = level }
  if not H.notices[#H.notices - 1] or H.notices[#H.notices - 1].msg ~= msg then
    H.log('notify(%s): %s', tostring(level), msg)
  end
  return notify(msg, level, opts)
end

--- The first notice that contains `text`, if any.
function H.notice(text)
  for _, n in ipairs(H.notices) do
    if n.msg:find(text, 1, true) then
      return n
    end
  end
end

--- Wait until the codellama_ls client is attached to `bufnr` and its model is ready.
function H.wait_ready(bufnr)
  local client = H.wait_for('the client to attach', H.SLOW, function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codellama_ls' })[1]
  end)
  local state
  H.wait_for('the model to load', H.SLOW, function()
    require('codellama_ls').status(function(err, status)
      state = err or status.state
    end, bufnr)
    H.sleep(100)
    return state == 'ready' or state == 'failed'
  end)
  return client, state
end

function H.run(main, budget_ms)
  vim.defer_fn(function()
    H.log('FAIL: the script did not finish in %d ms\nmessages:\n%s', budget_ms or 80000, vim.fn.execute('messages'))
    vim.cmd('cquit 2')
  end, budget_ms or 80000)
  vim.schedule(function()
    local co = coroutine.create(function()
      local ok, err = xpcall(main, debug.traceback)
      if ok then
        H.log('PASS')
        vim.cmd('qall!')
      else
        H.log('FAIL: %s', err)
        H.log('messages:\n%s', vim.fn.execute('messages'))
        vim.cmd('cquit 1')
      end
    end)
    local ok, err = coroutine.resume(co)
    if not ok then
      H.log('coroutine died: %s', err)
      vim.cmd('cquit 3')
    end
  end)
end

return H
